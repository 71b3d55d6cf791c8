"""A fake Jira (Cloud or Server/Data Center) for tests, over real HTTP on 127.0.0.1.

Its records start from Atlassian's published examples (jira-openapi/examples): projects,
boards, board configuration, sprints, statuses, fields, users and the search result's issue,
varied into the issues a test writes. A test tells an issue's story in order (`move`,
`sprint`, `estimate`) and the fake keeps both the changelog and the current fields, as Jira
does. It pages as Jira does (offset with `isLast`/`total`; Cloud's search and bulk changelog
by `nextPageToken`), caps page sizes so paging always happens, understands the JQL the
connector sends (project, `updated >=`, `ORDER BY updated`), checks credentials, and injects
faults: 429 with `Retry-After`, 5xx, slow answers.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

EXAMPLES = "jira-openapi/examples"
SPRINT_FIELD = "customfield_10020"
POINTS_FIELD = "customfield_10026"
TEAM_POINTS_FIELD = "customfield_10016"
EPIC_FIELD = "customfield_10014"
# Status id → (name, category key); "10000" and "5" are the published examples' own.
STATUSES = {
    "1": ("To Do", "new"),
    "10000": ("In Progress", "in-flight"),
    "10001": ("In Review", "indeterminate"),
    "6": ("Done", "done"),
    "5": ("Closed", "completed"),
}
PROJECT_CLAUSE = re.compile(r'project\s*=\s*"?([A-Za-z0-9_]+)"?', re.I)
UPDATED_CLAUSE = re.compile(r'updated\s*>=\s*"([^"]+)"', re.I)


def jira_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    delay: float


@dataclass
class FakeIssue:
    """An issue, its current fields and its changelog (each history's `created` a datetime)."""

    fake: FakeJira
    id: int
    key: str
    fields: dict[str, Any]
    histories: list[dict[str, Any]] = field(default_factory=list)

    def _change(self, at: datetime, author: str | None, *items: dict[str, Any]) -> FakeIssue:
        history_id = str(len(self.fake.all_histories()) + 10_000)
        user = self.fake.users[author] if author else self.fields.get("assignee")
        self.histories.append(
            {"id": history_id, "author": user, "created": at, "items": list(items)}
        )
        self.fields["updated"] = max(self.fields["updated"], at)
        return self

    def move(self, at: datetime, status: str, *, author: str | None = None) -> FakeIssue:
        """A transition to the status named `status`."""
        before = self.fields["status"]
        after = self.fake.status(status)
        self.fields["status"] = after
        if after["statusCategory"]["key"] in ("done", "completed"):
            self.fields["resolutiondate"] = at
        else:
            self.fields["resolutiondate"] = None
        item = {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": before["id"],
            "fromString": before["name"],
            "to": after["id"],
            "toString": after["name"],
        }
        return self._change(at, author, item)

    def sprint(self, at: datetime, *sprint_ids: int) -> FakeIssue:
        """The Sprint field set to these sprints."""
        before = self.fields[SPRINT_FIELD] or []
        self.fields[SPRINT_FIELD] = list(sprint_ids) or None
        item = {
            "field": "Sprint",
            "fieldtype": "custom",
            "fieldId": SPRINT_FIELD,
            **self._sprint_side("from", before),
            **self._sprint_side("to", list(sprint_ids)),
        }
        return self._change(at, None, item)

    def _sprint_side(self, side: str, ids: list[int]) -> dict[str, Any]:
        names = [self.fake.sprint_by_id(i)["name"] for i in ids]
        return {side: ", ".join(map(str, ids)) or None, f"{side}String": ", ".join(names) or None}

    def estimate(self, at: datetime, points: float | None) -> FakeIssue:
        before = self.fields[POINTS_FIELD]
        self.fields[POINTS_FIELD] = points
        item = {
            "field": "Story Points",
            "fieldtype": "custom",
            "fieldId": POINTS_FIELD,
            "from": None,
            "fromString": _number(before),
            "to": None,
            "toString": _number(points),
        }
        return self._change(at, None, item)


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


class FakeJira:
    """The server. Use as a context manager; `url` is the site's root."""

    def __init__(
        self,
        data_dir: Path,
        *,
        flavor: str = "cloud",
        page_cap: int = 2,
        email: str = "bot@example.com",
        token: str = "secret-token",
    ) -> None:
        self.dir = data_dir / EXAMPLES
        self.flavor = flavor
        self.page_cap = page_cap
        self.credential = (
            "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
            if flavor == "cloud"
            else f"Bearer {token}"
        )
        self.projects: dict[str, dict[str, Any]] = {}
        self.boards: dict[int, dict[str, Any]] = {}
        self.configs: dict[int, dict[str, Any]] = {}
        self.sprints: dict[int, list[dict[str, Any]]] = {}
        self.issues: list[FakeIssue] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.bulk_changelog = True
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api(self) -> str:
        return "/rest/api/3" if self.flavor == "cloud" else "/rest/api/2"

    def __enter__(self) -> FakeJira:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    # -- building records from the published examples -------------------------------------

    def example(self, name: str) -> Any:
        return copy.deepcopy(json.loads((self.dir / f"{name}.200.json").read_text()))

    def add_user(self, handle: str, name: str, email: str | None, *, app: bool = False) -> None:
        user = self.example("platform/get_rest_api_3_myself")
        user = {k: user[k] for k in ("accountId", "accountType", "active", "displayName", "self")}
        user.update(
            accountId=f"acc-{handle}", displayName=name, accountType="app" if app else "atlassian"
        )
        if email:
            user["emailAddress"] = email
        if self.flavor == "server":
            user = {
                "key": f"JIRAUSER-{handle}",
                "name": handle,
                "displayName": name,
                "active": True,
                **({"emailAddress": email} if email else {}),
            }
        self.users[handle] = user

    def add_project(self, key: str, name: str) -> None:
        project = self.example("platform/get_rest_api_3_project_search")["values"][0]
        project.update(key=key, name=name, id=str(10_000 + len(self.projects)))
        self.projects[key] = project

    def add_board(self, board_id: int, name: str, project: str, *, kind: str = "scrum") -> None:
        board = self.example("software/get_rest_agile_1.0_board_boardId")
        board.update(id=board_id, name=name, type=kind)
        board["location"].update(projectKey=project, projectName=self.projects[project]["name"])
        self.boards[board_id] = board
        config = self.example("software/get_rest_agile_1.0_board_boardId_configuration")
        config.update(id=board_id, name=name)
        config["location"]["key"] = project
        config["columnConfig"]["columns"] = [
            {"name": "To Do", "statuses": [{"id": "1"}]},
            {"name": "In progress", "statuses": [{"id": "10000"}, {"id": "10001"}]},
            {"name": "Done", "statuses": [{"id": "6"}, {"id": "5"}]},
        ]
        config["estimation"]["field"] = {"fieldId": POINTS_FIELD, "displayName": "Story Points"}
        self.configs[board_id] = config
        self.sprints[board_id] = []

    def add_sprint(
        self,
        board_id: int,
        sprint_id: int,
        name: str,
        state: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        complete: datetime | None = None,
        goal: str | None = None,
    ) -> None:
        sprint = self.example("software/get_rest_agile_1.0_sprint_sprintId")
        sprint.update(id=sprint_id, name=name, state=state, originBoardId=board_id, goal=goal or "")
        for key, value in (
            ("startDate", start),
            ("endDate", end),
            ("completeDate", complete),
            ("activatedDate", start if state != "future" else None),
        ):
            sprint.pop(key, None)
            if value is not None:
                sprint[key] = jira_time(value)
        self.sprints[board_id].append(sprint)

    def sprint_by_id(self, sprint_id: int) -> dict[str, Any]:
        return next(s for board in self.sprints.values() for s in board if s["id"] == sprint_id)

    def status(self, name: str) -> dict[str, Any]:
        found = next(i for i, (n, _) in STATUSES.items() if n == name)
        statuses = {str(s["id"]): s for s in self._statuses()}
        return statuses[found]

    def add_issue(
        self,
        key: str,
        created: datetime,
        *,
        kind: str = "Story",
        status: str = "To Do",
        points: float | None = None,
        sprints: tuple[int, ...] = (),
        assignee: str | None = None,
        labels: tuple[str, ...] = (),
        priority: str = "Medium",
        parent: FakeIssue | None = None,
        summary: str | None = None,
    ) -> FakeIssue:
        """An issue created at `created` with these values (no changelog for them, as Jira)."""
        issue = self.example("platform/get_rest_api_3_search_jql")["issues"][0]
        fields: dict[str, Any] = issue["fields"]
        issue_id = 20_000 + len(self.issues)
        fields.update(
            summary=summary or f"Work item {key}",
            created=created,
            updated=created,
            project={k: self.projects[key.split("-")[0]][k] for k in ("id", "key", "name", "self")},
            issuetype={"id": "1", "name": kind, "hierarchyLevel": 1 if kind == "Epic" else 0},
            status=self.status(status),
            resolutiondate=created if status in ("Done", "Closed") else None,
            assignee=self.users[assignee] if assignee else None,
            labels=list(labels),
            priority={"id": "3", "name": priority},
            parent=_parent(parent) if parent else None,
        )
        fields[SPRINT_FIELD] = list(sprints) or None
        fields[POINTS_FIELD] = points
        fields[TEAM_POINTS_FIELD] = None
        fields[EPIC_FIELD] = None
        fake = FakeIssue(self, issue_id, key, fields)
        self.issues.append(fake)
        return fake

    def all_histories(self) -> list[dict[str, Any]]:
        return [h for issue in self.issues for h in issue.histories]

    def webhook(self, issue: FakeIssue, event: str = "jira:issue_updated") -> dict[str, Any]:
        """The delivery Jira sends for the issue's latest change (or its creation)."""
        history = issue.histories[-1] if issue.histories and event != "jira:issue_created" else None
        when: datetime = history["created"] if history else issue.fields["created"]
        payload: dict[str, Any] = {
            "timestamp": int(when.timestamp() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": "issue_generic" if history else "issue_created",
            "user": history["author"] if history else issue.fields.get("assignee"),
            "issue": self._issue(issue, False),
        }
        if history is not None:
            items = self._history(history, False)["items"]
            payload["changelog"] = {"id": history["id"], "items": items}
        return payload

    def fail(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """The next `times` requests whose path matches `path` (a regex) fail with `status`
        (0: answer normally, after `delay` seconds)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.faults.append(Fault(re.compile(path), status, times, headers, delay))

    def requests(self, pattern: str = "") -> list[tuple[str, str, int]]:
        return [r for r in self.log if re.search(pattern, r[1])]

    # -- serving ------------------------------------------------------------------------------

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        path = urlsplit(target).path
        query = {k: v[-1] for k, v in parse_qs(urlsplit(target).query).items()}
        fault = self._fault(path)
        if fault is not None and fault.status:
            return fault.status, fault.headers, {"errorMessages": ["injected fault"], "errors": {}}
        if headers.get("authorization") != self.credential:
            return 401, {}, {"errorMessages": ["You are not authenticated."], "errors": {}}
        request = json.loads(body) if body else {}
        try:
            return 200, {}, self._route(method, path, query, request)
        except LookupError:
            return 404, {}, {"errorMessages": [f"Not found: {path}"], "errors": {}}
        except _BadRequest as exc:
            return 400, {}, {"errorMessages": [str(exc)], "errors": {}}

    def _route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Any:
        api, agile = self.api, "/rest/agile/1.0"
        if (
            method == "POST"
            and path == "/rest/api/3/changelog/bulkfetch"
            and self.flavor == "cloud"
        ):
            if not self.bulk_changelog:
                raise LookupError(path)
            return self._bulk(body)
        if path == f"{api}/myself":
            return self.example("platform/get_rest_api_3_myself")
        if path == f"{api}/field":
            return self._fields()
        if path == f"{api}/status":
            return self._statuses()
        if path == f"{agile}/board":
            return self._offset(self._project_boards(query), query, "values")
        if path == "/rest/api/3/search/jql" and self.flavor == "cloud":
            return self._token_search(query)
        if path == f"{api}/search":
            return self._offset_search(self._search(query.get("jql", "")), query)
        if match := re.fullmatch(rf"{api}/project/(\w+)", path):
            return self.projects[match.group(1)]
        if match := re.fullmatch(rf"{api}/issue/(\d+)/changelog", path):
            issue = next(i for i in self.issues if str(i.id) == match.group(1))
            return self._offset([self._history(h, False) for h in issue.histories], query, "values")
        if match := re.fullmatch(rf"{agile}/board/(\d+)(/\w+)?", path):
            return self._board(int(match.group(1)), match.group(2) or "", query)
        raise LookupError(path)

    def _board(self, board_id: int, part: str, query: dict[str, str]) -> Any:
        board = self.boards[board_id]
        if part == "":
            return board
        if part == "/configuration":
            return self.configs[board_id]
        if part == "/sprint":
            if board["type"] != "scrum":
                raise _BadRequest("The board does not support sprints")
            return self._offset(self.sprints[board_id], query, "values")
        if part == "/issue":
            project = board["location"]["projectKey"]
            issues = [
                i for i in self._search(query.get("jql", "")) if i.key.startswith(project + "-")
            ]
            return self._offset_search(issues, query)
        raise LookupError(part)

    def _fields(self) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = self.example("platform/get_rest_api_3_field")
        template = fields[1]
        for field_id, name, custom in (
            (SPRINT_FIELD, "Sprint", "com.pyxis.greenhopper.jira:gh-sprint"),
            (
                TEAM_POINTS_FIELD,
                "Story point estimate",
                "com.atlassian.jira.plugin.system.customfieldtypes:float",
            ),
            (
                POINTS_FIELD,
                "Story Points",
                "com.atlassian.jira.plugin.system.customfieldtypes:float",
            ),
            (EPIC_FIELD, "Epic Link", "com.pyxis.greenhopper.jira:gh-epic-link"),
        ):
            entry = copy.deepcopy(template)
            entry.update(
                id=field_id,
                key=field_id,
                name=name,
                custom=True,
                clauseNames=[f"cf[{field_id[12:]}]"],
                schema={"type": "any", "custom": custom},
            )
            fields.append(entry)
        return fields

    def _statuses(self) -> list[dict[str, Any]]:
        examples = {s["id"]: s for s in self.example("platform/get_rest_api_3_status")}
        statuses = []
        for status_id, (name, category) in STATUSES.items():
            status = copy.deepcopy(examples.get(status_id) or examples["10000"])
            status.update(id=status_id, name=name)
            status["statusCategory"].update(key=category, name=name)
            statuses.append(status)
        return statuses

    def _project_boards(self, query: dict[str, str]) -> list[dict[str, Any]]:
        project = query.get("projectKeyOrId")
        return [b for b in self.boards.values() if project in (None, b["location"]["projectKey"])]

    def _search(self, jql: str) -> list[FakeIssue]:
        found = list(self.issues)
        if match := PROJECT_CLAUSE.search(jql):
            found = [i for i in found if i.key.startswith(match.group(1) + "-")]
        if match := UPDATED_CLAUSE.search(jql):
            since = datetime.strptime(match.group(1), "%Y/%m/%d %H:%M").replace(tzinfo=UTC)
            found = [i for i in found if i.fields["updated"] >= since]
        return sorted(found, key=lambda i: (i.fields["updated"], i.id))

    def _size(self, query: dict[str, Any]) -> int:
        return max(1, min(int(query.get("maxResults") or 50), self.page_cap))

    def _offset(self, items: list[Any], query: dict[str, str], key: str) -> dict[str, Any]:
        start, size = int(query.get("startAt") or 0), self._size(query)
        chunk = items[start : start + size]
        return {
            "startAt": start,
            "maxResults": size,
            "total": len(items),
            "isLast": start + size >= len(items),
            key: chunk,
        }

    def _offset_search(self, issues: list[FakeIssue], query: dict[str, str]) -> dict[str, Any]:
        page = self._offset(issues, query, "issues")
        expand = "changelog" in query.get("expand", "")
        page["issues"] = [self._issue(i, expand) for i in page["issues"]]
        page.pop("isLast")  # Jira's issue searches tell the total only
        return page

    def _token_search(self, query: dict[str, str]) -> dict[str, Any]:
        issues = self._search(query.get("jql", ""))
        start = int(base64.b64decode(query["nextPageToken"])) if query.get("nextPageToken") else 0
        size = self._size(query)
        page: dict[str, Any] = {
            "issues": [self._issue(i, False) for i in issues[start : start + size]]
        }
        if start + size < len(issues):
            page["nextPageToken"] = base64.b64encode(str(start + size).encode()).decode()
        page["isLast"] = "nextPageToken" not in page
        return page

    def _bulk(self, body: dict[str, Any]) -> dict[str, Any]:
        """Cloud's bulk changelog: at most `page_cap` histories a page, across the issues."""
        wanted = [str(i) for i in body["issueIdsOrKeys"]]
        flat = [
            (issue, h) for issue in self.issues if str(issue.id) in wanted for h in issue.histories
        ]
        start = int(body.get("nextPageToken") or 0)
        chunk = flat[start : start + self.page_cap]
        logs: dict[int, list[dict[str, Any]]] = {}
        for issue, history in chunk:
            logs.setdefault(issue.id, []).append(self._history(history, True))
        page: dict[str, Any] = {
            "issueChangeLogs": [
                {"issueId": str(issue_id), "changeHistories": histories}
                for issue_id, histories in logs.items()
            ]
        }
        if start + self.page_cap < len(flat):
            page["nextPageToken"] = str(start + self.page_cap)
        return page

    def _issue(self, issue: FakeIssue, changelog: bool) -> dict[str, Any]:
        fields = {
            k: (jira_time(v) if isinstance(v, datetime) else v) for k, v in issue.fields.items()
        }
        sprint_ids = issue.fields[SPRINT_FIELD] or []
        fields[SPRINT_FIELD] = [
            self._field_sprint(self.sprint_by_id(i)) for i in sprint_ids
        ] or None
        rendered: dict[str, Any] = {
            "expand": "renderedFields,names,schema,changelog",
            "id": str(issue.id),
            "self": f"{self.url}{self.api}/issue/{issue.id}",
            "key": issue.key,
            "fields": fields,
        }
        if changelog:
            histories = [self._history(h, False) for h in issue.histories]
            rendered["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            }
        return rendered

    def _field_sprint(self, sprint: dict[str, Any]) -> Any:
        dated = {k: (jira_time(v) if isinstance(v, datetime) else v) for k, v in sprint.items()}
        if self.flavor == "cloud":
            keys = ("id", "name", "state", "goal", "startDate", "endDate", "completeDate")
            return {"boardId": sprint["originBoardId"], **{k: dated[k] for k in keys if k in dated}}
        pairs = [
            f"id={sprint['id']}",
            f"rapidViewId={sprint['originBoardId']}",
            f"state={sprint['state'].upper()}",
            f"name={sprint['name']}",
            f"goal={sprint.get('goal') or ''}",
        ]
        for key in ("startDate", "endDate", "completeDate", "activatedDate"):
            pairs.append(f"{key}={dated.get(key) or '<null>'}")
        return "com.atlassian.greenhopper.service.sprint.Sprint@1a2b3c[" + ",".join(pairs) + "]"

    def _history(self, history: dict[str, Any], bulk: bool) -> dict[str, Any]:
        created: datetime = history["created"]
        items = history["items"]
        if self.flavor == "server":
            items = [{k: v for k, v in item.items() if k != "fieldId"} for item in items]
        # Cloud's bulk changelog gives epoch milliseconds, the other endpoints ISO text.
        when: Any = int(created.timestamp() * 1000) if bulk else jira_time(created)
        return {"id": history["id"], "author": history["author"], "created": when, "items": items}

    def _fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.pattern.search(path):
                    fault.times -= 1
                    break
            else:
                return None
        if fault.delay:
            time.sleep(fault.delay)
        return fault


class _BadRequest(Exception):
    pass


def _parent(parent: FakeIssue) -> dict[str, Any]:
    return {
        "id": str(parent.id),
        "key": parent.key,
        "fields": {"summary": parent.fields["summary"], "issuetype": parent.fields["issuetype"]},
    }


def _handler(fake: FakeJira) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle's algorithm and delayed
        # ACKs hold each answer back ~40 ms.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, data = fake.answer(method, self.path, headers, body)
            with fake.lock:
                fake.log.append((method, self.path, status))
            text = json.dumps(data).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **extra}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler

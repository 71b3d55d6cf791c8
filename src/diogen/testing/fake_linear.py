"""A fake Linear GraphQL API for tests, over real HTTP on 127.0.0.1.

Queries are executed by graphql-core against Linear's published schema
(linear-sdk/packages/sdk/src/schema.graphql), so a query the real API would refuse is refused
here too. Its records start from the Linear webhook deliveries in zulip-webhook-fixtures (the
organization, team, workflow state, labels and assignee of a real issue) and a test tells each
issue's story in order (`move`, `to_cycle`, `estimate`, `assign`): the fake keeps both the
history and the current fields, as Linear does. Connections page by opaque cursors with a
capped page size so paging always happens; `issues` honours the team key and `updatedAt >=`
filters and `orderBy: updatedAt` (newest first). Every answer carries Linear's request
budget headers; faults are injected per operation: 429 with `Retry-After`, 5xx, slow answers.
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
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, build_schema, get_named_type, graphql_sync

SCHEMA = "linear-sdk/packages/sdk/src/schema.graphql"
WEBHOOK = "zulip-webhook-fixtures/linear/issue_update.json"
OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")
BUDGET = 1500
# Workflow states of a team: (name, type); "In Progress" is the fixture's own.
STATES = (
    ("Backlog", "backlog"),
    ("Todo", "unstarted"),
    ("In Progress", "started"),
    ("In Review", "started"),
    ("Done", "completed"),
    ("Canceled", "canceled"),
)


@cache
def linear_schema(path: Path) -> GraphQLSchema:
    return build_schema(path.read_text(), assume_valid_sdl=True)


def linear_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Fault:
    operation: str
    status: int
    times: int
    headers: dict[str, str]
    delay: float


@dataclass
class FakeLinearIssue:
    fake: FakeLinear
    fields: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def identifier(self) -> str:
        return str(self.fields["identifier"])

    def _change(self, at: datetime, author: str | None, **changes: Any) -> FakeLinearIssue:
        entry = {
            "id": f"hist-{len(self.fake.all_history()) + 1:05d}",
            "createdAt": at,
            "updatedAt": at,
            "actor": self.fake.users[author] if author else self.fields.get("assignee"),
            "fromState": None,
            "toState": None,
            "fromCycleId": None,
            "toCycleId": None,
            "fromEstimate": None,
            "toEstimate": None,
            "fromAssigneeId": None,
            "toAssigneeId": None,
            **changes,
        }
        self.history.append(entry)
        self.fields["updatedAt"] = max(self.fields["updatedAt"], at)
        return self

    def move(self, at: datetime, state: str, *, author: str | None = None) -> FakeLinearIssue:
        before, after = self.fields["state"], self.fake.state(state)
        self.fields["state"] = after
        done = after["type"] in ("completed", "canceled")
        self.fields["completedAt"] = at if after["type"] == "completed" else None
        self.fields["canceledAt"] = at if after["type"] == "canceled" else None
        if after["type"] == "started" and self.fields["startedAt"] is None:
            self.fields["startedAt"] = at
        if not done:
            self.fields["completedAt"] = self.fields["canceledAt"] = None
        return self._change(at, author, fromState=before, toState=after)

    def to_cycle(self, at: datetime, cycle: int | None) -> FakeLinearIssue:
        before = self.fields["cycle"]
        after = self.fake.cycle(cycle) if cycle is not None else None
        self.fields["cycle"] = after
        return self._change(
            at,
            None,
            fromCycleId=before["id"] if before else None,
            toCycleId=after["id"] if after else None,
        )

    def estimate(self, at: datetime, points: float | None) -> FakeLinearIssue:
        before = self.fields["estimate"]
        self.fields["estimate"] = points
        return self._change(at, None, fromEstimate=before, toEstimate=points)

    def assign(self, at: datetime, handle: str | None) -> FakeLinearIssue:
        before = self.fields["assignee"]
        self.fields["assignee"] = self.fake.users[handle] if handle else None
        after = self.fields["assignee"]
        return self._change(
            at,
            handle,
            fromAssigneeId=before["id"] if before else None,
            toAssigneeId=after["id"] if after else None,
        )


class FakeLinear:
    """The server; `url` is the GraphQL endpoint. Use as a context manager."""

    def __init__(self, data_dir: Path, *, api_key: str, page_cap: int = 2) -> None:
        self.data_dir = data_dir
        self.schema = linear_schema(data_dir / SCHEMA)
        self.api_key = api_key
        self.page_cap = page_cap
        example = json.loads((data_dir / WEBHOOK).read_text())
        self.example = example["data"]
        self.organization = {
            "id": example["organizationId"],
            "name": "Webhooks",
            "urlKey": "webhooks",
        }
        self.users: dict[str, dict[str, Any]] = {}
        self.teams: dict[str, dict[str, Any]] = {}
        self.cycles: dict[int, dict[str, Any]] = {}
        self.projects: list[dict[str, Any]] = []
        self.issues: list[FakeLinearIssue] = []
        self.faults: list[Fault] = []
        self.log: list[tuple[str, dict[str, Any], int]] = []
        self.remaining = BUDGET
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/graphql"

    def __enter__(self) -> FakeLinear:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    # -- the story ----------------------------------------------------------------------------

    def add_user(self, handle: str, name: str, email: str) -> dict[str, Any]:
        template = self.example["assignee"]
        user = {
            **copy.deepcopy(template),
            "id": f"{template['id'][: -len(handle)]}{handle}",
            "name": name,
            "displayName": handle,
            "email": email,
            "active": True,
        }
        self.users[handle] = user
        return user

    def add_team(self, key: str, name: str) -> dict[str, Any]:
        team = {**copy.deepcopy(self.example["team"]), "key": key, "name": name}
        team["id"] = f"team-{key.lower()}"
        team["cyclesEnabled"] = True
        example_state = self.example["state"]
        team["states"] = [
            {
                **copy.deepcopy(example_state),
                "id": example_state["id"] if name_ == example_state["name"] else f"st-{i}",
                "name": name_,
                "type": kind,
                "position": float(i),
            }
            for i, (name_, kind) in enumerate(STATES)
        ]
        team["labels"] = copy.deepcopy(self.example["labels"])
        self.teams[key] = team
        return team

    def state(self, name: str) -> dict[str, Any]:
        team = next(iter(self.teams.values()))
        found = next(s for s in team["states"] if s["name"] == name)
        return {"id": found["id"], "name": found["name"], "type": found["type"]}

    def add_cycle(
        self,
        team: str,
        number: int,
        starts: datetime,
        ends: datetime,
        *,
        completed: datetime | None = None,
        active: bool = False,
    ) -> dict[str, Any]:
        cycle = {
            "id": f"cycle-{team.lower()}-{number}",
            "number": float(number),
            "name": None,
            "description": None,
            "startsAt": starts,
            "endsAt": ends,
            "completedAt": completed,
            "isActive": active,
            "isFuture": completed is None and not active,
            "isPast": completed is not None,
            "updatedAt": completed or starts,
            "team": team,
        }
        self.cycles[number] = cycle
        return cycle

    def cycle(self, number: int) -> dict[str, Any]:
        return {"id": self.cycles[number]["id"]}

    def add_project(self, team: str, name: str) -> dict[str, Any]:
        project = {
            "id": f"project-{len(self.projects) + 1}",
            "name": name,
            "state": "started",
            "startedAt": None,
            "completedAt": None,
            "targetDate": None,
            "url": f"https://linear.app/webhooks/project/{name.lower()}",
            "updatedAt": datetime(2024, 1, 1, tzinfo=UTC),
            "team": team,
        }
        self.projects.append(project)
        return project

    def add_issue(
        self,
        team: str,
        created: datetime,
        *,
        title: str | None = None,
        cycle: int | None = None,
        estimate: float | None = None,
        assignee: str | None = None,
        state: str = "Todo",
        project: dict[str, Any] | None = None,
        parent: FakeLinearIssue | None = None,
    ) -> FakeLinearIssue:
        number = sum(1 for i in self.issues if i.fields["team"]["key"] == team) + 1
        identifier = f"{team}-{number}"
        fields = {
            "id": f"{self.example['id'][:-6]}{len(self.issues) + 1:06d}",
            "identifier": identifier,
            "number": float(number),
            "title": title or f"Work item {identifier}",
            "url": f"https://linear.app/webhooks/issue/{identifier}",
            "branchName": f"alice/{identifier.lower()}-work",
            "priority": self.example["priority"],
            "priorityLabel": self.example["priorityLabel"],
            "estimate": estimate,
            "createdAt": created,
            "updatedAt": created,
            "startedAt": None,
            "completedAt": None,
            "canceledAt": None,
            "archivedAt": None,
            "state": self.state(state),
            "assignee": self.users[assignee] if assignee else None,
            "creator": self.users[assignee] if assignee else None,
            "cycle": self.cycle(cycle) if cycle is not None else None,
            "project": {"id": project["id"], "name": project["name"]} if project else None,
            "parent": {"id": parent.fields["id"], "identifier": parent.identifier}
            if parent
            else None,
            "team": {"id": self.teams[team]["id"], "key": team},
            "labels": [],
        }
        issue = FakeLinearIssue(self, fields)
        self.issues.append(issue)
        return issue

    def all_history(self) -> list[dict[str, Any]]:
        return [entry for issue in self.issues for entry in issue.history]

    def fail(
        self,
        operation: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """The next `times` requests of `operation` (e.g. 'Issues') answer `status` (0: answer
        normally, after `delay` seconds)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.faults.append(Fault(operation, status, times, headers, delay))

    def operations(self, name: str | None = None) -> list[dict[str, Any]]:
        """The variables of every answered request of operation `name`."""
        return [v for op, v, status in self.log if (name is None or op == name) and status == 200]

    # -- serving ------------------------------------------------------------------------------

    def budget_headers(self) -> dict[str, str]:
        reset = int((time.time() + 3600) * 1000)
        return {
            "X-RateLimit-Requests-Limit": str(BUDGET),
            "X-RateLimit-Requests-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Requests-Reset": str(reset),
        }

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        request = json.loads(body or b"{}")
        document = str(request.get("query") or "")
        match = OPERATION.search(document)
        operation = match.group(1) if match else ""
        variables = request.get("variables") or {}
        fault = self._fault(operation)
        with self.lock:
            self.remaining -= 1
        limits = self.budget_headers()
        if fault is not None and fault.status:
            if fault.status in (400, 429):  # Linear refuses for its limits with either
                limits["X-RateLimit-Requests-Remaining"] = "0"
                error = {"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}
            else:
                error = {"message": "injected fault", "extensions": {"code": "INTERNAL"}}
            return fault.status, {**limits, **fault.headers}, {"errors": [error]}
        if headers.get("authorization") != self.api_key:
            error = {
                "message": "Authentication required",
                "extensions": {"code": "AUTHENTICATION_ERROR"},
            }
            return 400, limits, {"errors": [error]}
        result = graphql_sync(
            self.schema,
            document,
            self._root(),
            variable_values=variables,
            field_resolver=_resolve,
            context_value=self,
        )
        data: dict[str, Any] = {"data": result.data}
        if result.errors:
            data["errors"] = [{"message": error.message} for error in result.errors]
            return 400, limits, data
        with self.lock:
            self.log.append((operation, variables, 200))
        return 200, limits, data

    def _root(self) -> dict[str, Any]:
        return {
            "organization": lambda info: self.organization,
            "teams": lambda info, **args: [self._team(t) for t in self._teams(args)],
            "team": lambda info, id: self._team(
                next(t for t in self.teams.values() if t["id"] == id)
            ),
            "issues": lambda info, **args: self._issue_list(args),
            "issue": lambda info, id: self._issue(
                next(i for i in self.issues if i.fields["id"] == id)
            ),
        }

    def _teams(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = ((args.get("filter") or {}).get("key") or {}).get("eq")
        return [t for key, t in self.teams.items() if wanted in (None, key)]

    def _team(self, team: dict[str, Any]) -> dict[str, Any]:
        key = team["key"]
        return {
            **team,
            "cycles": [_dated(c) for c in self.cycles.values() if c["team"] == key],
            "projects": [_dated(p) for p in self.projects if p["team"] == key],
        }

    def _issue_list(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = args.get("filter") or {}
        team = ((wanted.get("team") or {}).get("key") or {}).get("eq")
        since_text = (wanted.get("updatedAt") or {}).get("gte")
        since = datetime.fromisoformat(since_text) if since_text else None
        found = [
            i
            for i in self.issues
            if team in (None, i.fields["team"]["key"])
            and (since is None or i.fields["updatedAt"] >= since)
        ]
        if args.get("orderBy") == "updatedAt":
            found.sort(key=lambda i: (i.fields["updatedAt"], i.fields["id"]), reverse=True)
        return [self._issue(i) for i in found]

    def _issue(self, issue: FakeLinearIssue) -> dict[str, Any]:
        rendered = _dated(issue.fields)
        rendered["labels"] = list(issue.fields["labels"])
        rendered["history"] = [_dated(entry) for entry in issue.history]
        return rendered

    def _fault(self, operation: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.operation == operation:
                    fault.times -= 1
                    break
            else:
                return None
        if fault.delay:
            time.sleep(fault.delay)
        return fault

    def connection(self, items: list[Any], args: dict[str, Any]) -> dict[str, Any]:
        start = int(base64.b64decode(args["after"])) if args.get("after") else 0
        size = max(1, min(int(args.get("first") or 50), self.page_cap))
        chunk = items[start : start + size]
        end = start + len(chunk)
        return {
            "nodes": chunk,
            "pageInfo": {
                "hasNextPage": end < len(items),
                "hasPreviousPage": start > 0,
                "startCursor": base64.b64encode(str(start).encode()).decode() if chunk else None,
                "endCursor": base64.b64encode(str(end).encode()).decode() if chunk else None,
            },
        }


def _dated(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (linear_time(v) if isinstance(v, datetime) else v) for k, v in record.items()}


def _resolve(source: Any, info: Any, **args: Any) -> Any:
    """Fields are dict keys; callables are called; lists under a *Connection type are paged."""
    value = source.get(info.field_name) if isinstance(source, dict) else None
    if callable(value):
        value = value(info, **args)
    if isinstance(value, list) and get_named_type(info.return_type).name.endswith("Connection"):
        fake: FakeLinear = info.context
        return fake.connection(value, args)
    if isinstance(value, datetime):
        return linear_time(value)
    return value


def _handler(fake: FakeLinear) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            extra: dict[str, str]
            if self.path != "/graphql":
                status, extra, data = 404, {}, {"errors": [{"message": "not found"}]}
            else:
                status, extra, data = fake.answer(headers, body)
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

"""A fake Asana REST API for tests, over real HTTP on 127.0.0.1.

Its records start from the schema examples of Asana's OpenAPI description
(asana-openapi/schema-examples: project, section, task, story, user), varied into the tasks a
test writes. A test tells each task's story in order (`move`, `complete`, `reopen`, `assign`)
and the fake keeps both the stories and the task's current fields, as Asana does. It answers
`{"data": …}`, returns only the compact fields and the `opt_fields` asked for, pages lists by
offset (`next_page.offset`, capped page size so paging always happens), filters tasks by
`project` and `modified_since`, checks the Bearer token, and injects faults: 429 with
`Retry-After`, 5xx, slow answers.
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

EXAMPLES = "asana-openapi/schema-examples"
COMPACT = ("gid", "resource_type")


def asana_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def project_fields(record: Any, fields: list[str]) -> Any:
    """`record` with only its compact fields and the dotted `fields` asked for."""
    if isinstance(record, list):
        return [project_fields(item, fields) for item in record]
    if not isinstance(record, dict):
        return record
    nested: dict[str, list[str]] = {}
    for name in fields:
        head, _, rest = name.partition(".")
        nested.setdefault(head, [])
        if rest:
            nested[head].append(rest)
    kept = {k: record[k] for k in COMPACT if k in record}
    for head, inner in nested.items():
        if head in record:
            kept[head] = project_fields(record[head], inner) if inner else record[head]
    return kept


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    delay: float


@dataclass
class FakeTask:
    fake: FakeAsana
    fields: dict[str, Any]
    stories: list[dict[str, Any]] = field(default_factory=list)

    def _story(self, at: datetime, subtype: str, author: str | None, **extra: Any) -> FakeTask:
        story = copy.deepcopy(self.fake.example("StoryResponse"))
        story.update(
            gid=str(9_000_000 + len(self.fake.all_stories()) + 1),
            created_at=at,
            resource_subtype=subtype,
            type="system",
            created_by=self.fake.users[author] if author else self.fields.get("assignee"),
            **extra,
        )
        self.stories.append(story)
        self.fields["modified_at"] = max(self.fields["modified_at"], at)
        return self

    def move(self, at: datetime, section: str, *, author: str | None = None) -> FakeTask:
        membership = self.fields["memberships"][0]
        before, after = membership["section"], self.fake.section(section)
        membership["section"] = after
        return self._story(at, "section_changed", author, old_section=before, new_section=after)

    def complete(self, at: datetime) -> FakeTask:
        self.fields.update(completed=True, completed_at=at)
        return self._story(at, "marked_complete", None)

    def reopen(self, at: datetime) -> FakeTask:
        self.fields.update(completed=False, completed_at=None)
        return self._story(at, "marked_incomplete", None)

    def comment(self, at: datetime, text: str) -> FakeTask:
        return self._story(at, "comment_added", None, text=text)


class FakeAsana:
    """The server; `url` is the API root (…/api/1.0). Use as a context manager."""

    def __init__(self, data_dir: Path, *, token: str, page_cap: int = 2) -> None:
        self.data_dir = data_dir
        self.token = token
        self.page_cap = page_cap
        self.users: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.sections: list[dict[str, Any]] = []
        self.tasks: list[FakeTask] = []
        self.faults: list[Fault] = []
        self.log: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/1.0"

    def __enter__(self) -> FakeAsana:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def example(self, name: str) -> Any:
        return json.loads((self.data_dir / EXAMPLES / f"{name}.json").read_text())

    # -- the story ----------------------------------------------------------------------------

    def add_user(self, handle: str, name: str, email: str | None) -> dict[str, Any]:
        user = {
            **self.example("UserResponse"),
            "gid": str(1_000 + len(self.users) + 1),
            "name": name,
            "email": email,
        }
        self.users[handle] = user
        return user

    def add_project(self, gid: str, name: str, sections: list[str]) -> None:
        project = {**self.example("ProjectResponse"), "gid": gid, "name": name}
        self.projects[gid] = project
        for section_name in sections:
            section = copy.deepcopy(self.example("SectionResponse"))
            section.update(
                gid=str(5_000 + len(self.sections) + 1),
                name=section_name,
                project={"gid": gid, "resource_type": "project", "name": name},
            )
            self.sections.append(section)

    def section(self, name: str) -> dict[str, Any]:
        found = next(s for s in self.sections if s["name"] == name)
        return {"gid": found["gid"], "resource_type": "section", "name": found["name"]}

    def add_task(
        self,
        project: str,
        created: datetime,
        *,
        name: str | None = None,
        section: str,
        points: float | None = None,
        assignee: str | None = None,
    ) -> FakeTask:
        example = copy.deepcopy(self.example("TaskResponse"))
        gid = str(7_000 + len(self.tasks) + 1)
        points_field = copy.deepcopy(example["custom_fields"][0])
        points_field.update(gid="8001", name="Story Points", type="number", number_value=points)
        example.update(
            gid=gid,
            name=name or f"Task {gid}",
            created_at=created,
            modified_at=created,
            completed=False,
            completed_at=None,
            assignee=self.users[assignee] if assignee else None,
            memberships=[
                {
                    "project": {"gid": project, "resource_type": "project", "name": "p"},
                    "section": self.section(section),
                }
            ],
            custom_fields=[points_field],
            parent=None,
            permalink_url=f"https://app.asana.com/0/{project}/{gid}",
        )
        task = FakeTask(self, example)
        self.tasks.append(task)
        return task

    def all_stories(self) -> list[dict[str, Any]]:
        return [story for task in self.tasks for story in task.stories]

    def fail(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.faults.append(Fault(re.compile(path), status, times, headers, delay))

    def requests(self, pattern: str = "") -> list[str]:
        return [target for target, _ in self.log if re.search(pattern, target)]

    # -- serving ------------------------------------------------------------------------------

    def answer(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        path = parts.path.removeprefix("/api/1.0")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        fault = self._fault(path)
        if fault is not None and fault.status:
            return fault.status, fault.headers, {"errors": [{"message": "injected fault"}]}
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"errors": [{"message": "Not Authorized"}]}
        fields = [f for f in query.get("opt_fields", "").split(",") if f]
        try:
            found, listed = self._route(path, query)
        except LookupError:
            return 404, {}, {"errors": [{"message": f"{path}: Not a recognized ID"}]}
        if not listed:
            return 200, {}, {"data": project_fields(_dated(found), fields)}
        return 200, {}, self._page(path, [_dated(item) for item in found], query, fields)

    def _route(self, path: str, query: dict[str, str]) -> tuple[Any, bool]:
        if path == "/users/me":
            return self.example("UserResponse"), False
        if match := re.fullmatch(r"/projects/(\d+)", path):
            return self.projects[match.group(1)], False
        if match := re.fullmatch(r"/projects/(\d+)/sections", path):
            if match.group(1) not in self.projects:
                raise LookupError(path)
            return [s for s in self.sections if s["project"]["gid"] == match.group(1)], True
        if path == "/tasks":
            since = query.get("modified_since")
            moment = datetime.fromisoformat(since) if since else None
            tasks = [
                t.fields
                for t in self.tasks
                if t.fields["memberships"][0]["project"]["gid"] == query.get("project")
                and (moment is None or t.fields["modified_at"] >= moment)
            ]
            return tasks, True
        if match := re.fullmatch(r"/tasks/(\d+)/stories", path):
            task = next(t for t in self.tasks if t.fields["gid"] == match.group(1))
            return task.stories, True
        raise LookupError(path)

    def _page(
        self, path: str, items: list[Any], query: dict[str, str], fields: list[str]
    ) -> dict[str, Any]:
        start = int(base64.b64decode(query["offset"])) if query.get("offset") else 0
        size = max(1, min(int(query.get("limit") or 20), self.page_cap))
        chunk = items[start : start + size]
        following = None
        if start + size < len(items):
            token = base64.b64encode(str(start + size).encode()).decode()
            following = {"offset": token, "path": f"{path}?offset={token}", "uri": None}
        return {"data": project_fields(chunk, fields), "next_page": following}

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


def _dated(record: Any) -> Any:
    if isinstance(record, dict):
        return {k: _dated(v) for k, v in record.items()}
    if isinstance(record, list):
        return [_dated(v) for v in record]
    return asana_time(record) if isinstance(record, datetime) else record


def _handler(fake: FakeAsana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, data = fake.answer(self.path, headers)
            with fake.lock:
                fake.log.append((self.path, status))
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

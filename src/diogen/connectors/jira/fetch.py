"""What one Jira sync reads, in order: the site's fields and statuses, the projects and boards
asked for, every sprint of their scrum boards, then the issues updated since the last sync,
page by page with their whole changelog, each page a checkpoint.

Streams: `fields`, `statuses`, `projects`, `boards` (with their configuration: columns →
statuses and the estimation field) and `sprints` are kept in bronze; `sprints` and `issues`
become silver. The issue cursor is the newest `updated` time of the last complete page.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from diogen.connectors.base import Checkpoint, FetchStats, RawItem
from diogen.connectors.http import HttpError
from diogen.connectors.jira.client import JiraApi
from diogen.connectors.jira.config import JiraConfig
from diogen.connectors.trackers import parse_time
from diogen.errors import NotFoundError

AGILE = "rest/agile/1.0"
SPRINT_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint"
EPIC_SCHEMA = "com.pyxis.greenhopper.jira:gh-epic-link"
SPRINT_BOARDS = ("scrum", "simple")
# Refusals meaning "this site or board has no such feature", not failures.
ABSENT = (400, 404)


@dataclass(frozen=True)
class IssueScope:
    """The issues of one project, or of one board (its filter)."""

    kind: str  # project | board
    key: str

    @property
    def cursor_name(self) -> str:
        return f"issues:{self.kind}:{self.key}"


@dataclass
class SiteMeta:
    """What reading an issue needs: special fields and status categories."""

    sprint_field: dict[str, str] | None = None
    epic_field: dict[str, str] | None = None
    points_fields: list[dict[str, str]] = field(default_factory=list)
    statuses: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def read(
        cls, fields: list[dict[str, Any]], statuses: list[dict[str, Any]], points: list[str]
    ) -> SiteMeta:
        """The site's sprint, epic link and story point fields (by the names in `points`, in
        that order) and its status categories."""
        meta = cls()
        by_name: dict[str, dict[str, str]] = {}
        for entry in fields:
            ref = {"id": str(entry["id"]), "name": str(entry.get("name") or entry["id"])}
            custom = (entry.get("schema") or {}).get("custom")
            if custom == SPRINT_SCHEMA or (meta.sprint_field is None and ref["name"] == "Sprint"):
                meta.sprint_field = ref
            if custom == EPIC_SCHEMA:
                meta.epic_field = ref
            by_name.setdefault(ref["name"].lower(), ref)
        meta.points_fields = [by_name[n.lower()] for n in points if n.lower() in by_name]
        for status in statuses:
            meta.statuses[str(status["id"])] = (status.get("statusCategory") or {}).get("key")
        return meta

    def for_issue(
        self, issue: Mapping[str, Any], histories: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The meta of one issue, with only the statuses it mentions."""
        mentioned = {str((issue.get("fields") or {}).get("status", {}).get("id"))}
        for history in histories:
            for item in history.get("items") or []:
                if (item.get("fieldId") or item.get("field")) == "status":
                    mentioned.update(str(item.get(side)) for side in ("from", "to"))
        return {
            "sprint_field": self.sprint_field,
            "epic_field": self.epic_field,
            "points_fields": self.points_fields,
            "statuses": {k: v for k, v in sorted(self.statuses.items()) if k in mentioned},
        }


class JiraFetch:
    def __init__(
        self,
        api: JiraApi,
        config: JiraConfig,
        cursors: Mapping[str, dict[str, Any]],
        stats: FetchStats,
    ) -> None:
        self.api, self.config, self.cursors, self.stats = api, config, cursors, stats
        self.meta = SiteMeta()
        self.boards: dict[int, dict[str, Any]] = {}
        self.parents: dict[str, str] = {}  # Jira issue id → parent's Jira id
        self.bulk_changelog = config.is_cloud

    def run(self) -> Iterator[RawItem | Checkpoint]:
        yield from self.site()
        scopes = []
        for key in self.config.projects:
            yield from self.project(key)
            scopes.append(IssueScope("project", key))
        for board_id in self.config.boards:
            yield from self.board(self.configured_board(board_id))
            scopes.append(IssueScope("board", str(board_id)))
        yield from self.sprints()
        yield Checkpoint({})
        for scope in scopes:
            yield from self.issues(scope)

    def site(self) -> Iterator[RawItem]:
        fields = self.api.get(f"{self.config.api}/field")
        yield RawItem("fields", "fields", {"values": fields})
        statuses = self.api.get(f"{self.config.api}/status")
        yield RawItem("statuses", "statuses", {"values": statuses})
        self.meta = SiteMeta.read(fields, statuses, self.config.points_fields)

    def project(self, key: str) -> Iterator[RawItem]:
        try:
            project = self.api.get(f"{self.config.api}/project/{key}")
        except HttpError as exc:
            if exc.status != 404:
                raise
            raise NotFoundError(
                f"no Jira project {key!r} at {self.config.url}", project=key
            ) from exc
        self.stats.add("projects")
        yield RawItem("projects", key, project)
        try:
            for page in self.api.offset_pages(f"{AGILE}/board", "values", projectKeyOrId=key):
                for board in page:
                    yield from self.board(board)
        except HttpError as exc:
            if exc.status not in ABSENT:
                raise
            self.stats.add("agile_unavailable")  # Jira without Jira Software: no boards

    def configured_board(self, board_id: int) -> dict[str, Any]:
        try:
            board: dict[str, Any] = self.api.get(f"{AGILE}/board/{board_id}")
        except HttpError as exc:
            if exc.status != 404:
                raise
            raise NotFoundError(
                f"no Jira board {board_id} at {self.config.url}", board=board_id
            ) from exc
        return board

    def board(self, board: dict[str, Any]) -> Iterator[RawItem]:
        board_id = int(board["id"])
        if board_id in self.boards:
            return
        configuration = self.api.get(f"{AGILE}/board/{board_id}/configuration")
        self.boards[board_id] = board
        self.stats.add("boards")
        yield RawItem("boards", str(board_id), {"board": board, "configuration": configuration})
        estimation = (configuration.get("estimation") or {}).get("field") or {}
        field_id = str(estimation.get("fieldId") or "")
        if field_id.startswith("customfield_"):
            ref = {"id": field_id, "name": str(estimation.get("displayName") or field_id)}
            if ref["id"] not in {f["id"] for f in self.meta.points_fields}:
                self.meta.points_fields.insert(0, ref)

    def sprints(self) -> Iterator[RawItem]:
        seen: set[str] = set()
        for board_id, board in self.boards.items():
            if board.get("type") not in SPRINT_BOARDS:
                continue
            label = {"id": board_id, "name": board.get("name")}
            try:
                for page in self.api.offset_pages(f"{AGILE}/board/{board_id}/sprint", "values"):
                    for sprint in page:
                        if str(sprint["id"]) in seen:
                            continue
                        seen.add(str(sprint["id"]))
                        self.stats.add("sprints")
                        payload = {"sprint": sprint, "board": label}
                        yield RawItem("sprints", str(sprint["id"]), payload)
            except HttpError as exc:
                if exc.status not in ABSENT:
                    raise  # a board without sprints answers 400

    def issues(self, scope: IssueScope) -> Iterator[RawItem | Checkpoint]:
        cursor = self.cursors.get(scope.cursor_name) or {}
        newest = cursor.get("updated")
        for page in self.issue_pages(scope, self.jql(scope, newest)):
            histories = self.changelogs(page)
            for issue in page:
                yield self.issue_item(issue, histories[str(issue["id"])])
                updated = (issue.get("fields") or {}).get("updated")
                if updated and (newest is None or _after(updated, newest)):
                    newest = str(updated)
            yield Checkpoint({scope.cursor_name: {"updated": newest}} if newest else {})

    def jql(self, scope: IssueScope, since: str | None) -> str:
        clauses = [f'project = "{scope.key}"'] if scope.kind == "project" else []
        moment = parse_time(since) if since else None
        if moment is not None:
            start = moment - timedelta(hours=self.config.overlap_hours)
            clauses.append(f'updated >= "{start:%Y/%m/%d %H:%M}"')
        return (" AND ".join(clauses) + " ORDER BY updated ASC").strip()

    def issue_pages(self, scope: IssueScope, jql: str) -> Iterator[list[dict[str, Any]]]:
        size = self.config.page_size
        expand = {} if self.config.is_cloud else {"expand": "changelog"}
        if scope.kind == "board":
            path = f"{AGILE}/board/{scope.key}/issue"
            yield from self.api.offset_pages(path, "issues", jql=jql, fields="*all", **expand)
        elif self.config.is_cloud:
            pages = self.api.token_pages(
                "GET", "rest/api/3/search/jql", "issues", jql=jql, maxResults=size, fields="*all"
            )
            yield from (page["issues"] for page in pages)
        else:
            path = f"{self.config.api}/search"
            yield from self.api.offset_pages(path, "issues", jql=jql, fields="*all", **expand)

    def changelogs(self, page: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """Each issue's whole changelog: embedded (Server), in bulk (Cloud), else per issue."""
        ids = [str(issue["id"]) for issue in page]
        if not self.config.is_cloud:
            return {str(i["id"]): (i.get("changelog") or {}).get("histories") or [] for i in page}
        if self.bulk_changelog:
            try:
                return self.api.bulk_changelogs(ids)
            except HttpError as exc:
                if exc.status not in (404, 405):
                    raise
                self.bulk_changelog = False  # an older site: read them one by one
        return {issue: self.api.issue_changelog(issue) for issue in ids}

    def issue_item(self, issue: dict[str, Any], histories: list[dict[str, Any]]) -> RawItem:
        self.stats.add("issues")
        self.stats.add("changes", len(histories))
        issue = {k: v for k, v in issue.items() if k != "changelog"}
        parent = (issue.get("fields") or {}).get("parent") or {}
        if parent.get("id"):
            self.parents[str(issue["id"])] = str(parent["id"])
        payload = {
            "issue": issue,
            "changelog": histories,
            "meta": self.meta.for_issue(issue, histories),
        }
        return RawItem("issues", str(issue["id"]), payload)


def _after(updated: str, newest: str) -> bool:
    first, second = parse_time(updated), parse_time(newest)
    return first is not None and (second is None or first > second)

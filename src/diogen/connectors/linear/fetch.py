"""What one Linear sync reads, per team: the team (workflow states, labels), its cycles and
projects, then the issues updated since the last sync, page by page with their whole history,
each page a checkpoint.

Streams: `teams` and `projects` are kept in bronze; `cycles` and `issues` become silver. The
issue cursor of a team holds the pass in progress (`since`: the `updatedAt` filter it runs
with, `after`: the Relay cursor of its last complete page, `newest`: the newest `updatedAt`
seen) so a killed sync resumes after its last page; a finished pass starts the next one from
its newest update (inclusive: re-read issues are the same rows).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from diogen.connectors.base import Checkpoint, FetchStats, RawItem
from diogen.connectors.linear import queries
from diogen.connectors.linear.client import LinearApi
from diogen.connectors.linear.config import LinearConfig
from diogen.connectors.trackers import parse_time
from diogen.errors import NotFoundError

CYCLE_KEYS = ("id", "number", "name", "startsAt", "endsAt", "completedAt", "isActive", "isFuture")


class LinearFetch:
    def __init__(
        self,
        api: LinearApi,
        config: LinearConfig,
        cursors: Mapping[str, dict[str, Any]],
        stats: FetchStats,
    ) -> None:
        self.api, self.config, self.cursors, self.stats = api, config, cursors, stats
        self.cycles: dict[str, dict[str, Any]] = {}
        self.parents: dict[str, str] = {}  # Linear issue id → parent's id

    def run(self) -> Iterator[RawItem | Checkpoint]:
        teams = []
        for key in self.config.teams:
            team = self.team(key)
            teams.append(team)
            yield RawItem("teams", str(team["id"]), team)
            yield from self.team_cycles(team)
            yield from self.team_projects(team)
        yield Checkpoint({})
        for team in teams:
            yield from self.issues(team)

    def team(self, key: str) -> dict[str, Any]:
        nodes = self.api.query(queries.TEAM, {"key": key})["teams"]["nodes"]
        if not nodes:
            raise NotFoundError(f"no Linear team {key!r} for this API key", team=key)
        self.stats.add("teams")
        team: dict[str, Any] = nodes[0]
        return team

    def team_cycles(self, team: Mapping[str, Any]) -> Iterator[RawItem]:
        label = {"id": team["id"], "key": team["key"], "name": team.get("name")}
        variables = {"team": team["id"], "first": self.config.page_size}
        for nodes, _, _ in self.api.connection(queries.CYCLES, variables, ("team", "cycles")):
            for cycle in nodes:
                self.stats.add("cycles")
                self.cycles[str(cycle["id"])] = cycle
                yield RawItem("cycles", str(cycle["id"]), {"cycle": cycle, "team": label})

    def team_projects(self, team: Mapping[str, Any]) -> Iterator[RawItem]:
        variables = {"team": team["id"], "first": self.config.page_size}
        for nodes, _, _ in self.api.connection(queries.PROJECTS, variables, ("team", "projects")):
            for project in nodes:
                self.stats.add("projects")
                yield RawItem("projects", str(project["id"]), project)

    def issues(self, team: Mapping[str, Any]) -> Iterator[RawItem | Checkpoint]:
        name = f"issues:{team['key']}"
        cursor = self.cursors.get(name) or {}
        since, newest = cursor.get("since"), cursor.get("newest") or cursor.get("since")
        issue_filter: dict[str, Any] = {"team": {"key": {"eq": team["key"]}}}
        if since:
            issue_filter["updatedAt"] = {"gte": since}
        variables = {
            "filter": issue_filter,
            "first": self.config.page_size,
            "historyFirst": self.config.history_page,
        }
        pages = self.api.connection(
            queries.ISSUES, variables, ("issues",), after=cursor.get("after")
        )
        for nodes, after, more in pages:
            for node in nodes:
                yield self.issue_item(node)
                updated = node.get("updatedAt")
                if updated and (newest is None or _after(updated, newest)):
                    newest = str(updated)
            state = {"since": since, "after": after, "newest": newest}
            if not more:
                state = {"since": newest, "after": None, "newest": newest}
            yield Checkpoint({name: state})

    def issue_item(self, node: dict[str, Any]) -> RawItem:
        issue = {k: v for k, v in node.items() if k != "history"}
        history = self.whole_history(node)
        self.stats.add("issues")
        self.stats.add("changes", len(history))
        parent = issue.get("parent") or {}
        if parent.get("id"):
            self.parents[str(issue["id"])] = str(parent["id"])
        mentioned = {str((issue.get("cycle") or {}).get("id") or "")}
        for entry in history:
            mentioned.update(str(entry.get(side) or "") for side in ("fromCycleId", "toCycleId"))
        cycles = {
            cycle_id: {k: self.cycles[cycle_id].get(k) for k in CYCLE_KEYS}
            for cycle_id in sorted(mentioned)
            if cycle_id in self.cycles
        }
        payload = {"issue": issue, "history": history, "meta": {"cycles": cycles}}
        return RawItem("issues", str(issue["id"]), payload)

    def whole_history(self, node: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The history embedded in the issue page, and the pages after it."""
        embedded = node.get("history") or {}
        history = list(embedded.get("nodes") or [])
        info = embedded.get("pageInfo") or {}
        if info.get("hasNextPage") and info.get("endCursor"):
            variables = {"issue": node["id"], "first": self.config.history_page}
            pages = self.api.connection(
                queries.ISSUE_HISTORY, variables, ("issue", "history"), after=info["endCursor"]
            )
            for nodes, _, _ in pages:
                history.extend(nodes)
        return history


def _after(updated: str, newest: str) -> bool:
    first, second = parse_time(updated), parse_time(newest)
    return first is not None and (second is None or first > second)

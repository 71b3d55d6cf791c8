"""The Jira connector: config, fetch (site, projects, boards, sprints, issues) and normalize."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import Any

import httpx
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from diogen.connectors.base import Checkpoint, FetchStats, RawItem, SilverRow, StoredKeys
from diogen.connectors.http import Clock, RetryPolicy, Sleep
from diogen.connectors.jira.client import JiraApi
from diogen.connectors.jira.config import JiraConfig
from diogen.connectors.jira.fetch import JiraFetch
from diogen.connectors.jira.issues import ISSUE, IssueRecord, JiraContext
from diogen.connectors.jira.sprints import board_sprint_rows
from diogen.silver import Issue

# Streams kept in bronze for inspection and later use, with no silver rows of their own.
BRONZE_ONLY = frozenset({"fields", "statuses", "projects", "boards"})


class JiraConnector:
    def __init__(
        self,
        config: JiraConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.source = config.source
        self.stats = FetchStats()
        self.context = JiraContext(config.source, config.incidents, config.bot_pattern)
        self.api = JiraApi(
            config, self.stats, transport=transport, sleep=sleep, clock=clock, retry=retry
        )

    def fetch(
        self, cursors: Mapping[str, dict[str, Any]], stored: StoredKeys
    ) -> Iterator[RawItem | Checkpoint]:
        """The run's items; each checkpoint also links the parents its issues name, and the
        last one every parent the run met (a parent may come after its child)."""
        run = JiraFetch(self.api, self.config, cursors, self.stats)
        linked: dict[str, str] = {}
        try:
            for item in run.run():
                if isinstance(item, Checkpoint) and run.parents:
                    pairs = self._pairs(run.parents)
                    linked.update(pairs)
                    run.parents.clear()
                    item = Checkpoint(item.cursors, partial(link_parents, pairs=pairs))
                yield item
            if linked:
                yield Checkpoint({}, partial(link_parents, pairs=linked))
        finally:
            self.api.close()

    def _pairs(self, parents: Mapping[str, str]) -> dict[str, str]:
        issue = self.context.issue_id
        return {issue(child): issue(parent) for child, parent in parents.items()}

    def normalize(self, item: RawItem) -> Iterable[SilverRow]:
        return normalize(self.context, item)


def normalize(context: JiraContext, item: RawItem) -> list[SilverRow]:
    """Silver rows of one Jira record (also what a replay of bronze calls)."""
    if item.stream == "issues":
        return IssueRecord(context, item.payload).rows()
    if item.stream == "sprints":
        return board_sprint_rows(context.source, item.payload)
    if item.stream in BRONZE_ONLY:
        return []
    raise ValueError(f"unknown Jira stream {item.stream!r}")


def link_parents(session: Session, pairs: Mapping[str, str]) -> dict[str, Any]:
    """Point issues at their parents, where both are stored; the rest wait for a later sync."""
    wanted = sorted(set(pairs.values()))
    stored = set(session.scalars(select(Issue.id).where(Issue.id.in_(wanted))))
    stored |= set(session.scalars(select(Issue.id).where(Issue.id.in_(sorted(pairs)))))
    rows = [
        {"child": child, "parent": parent}
        for child, parent in sorted(pairs.items())
        if child in stored and parent in stored
    ]
    if rows:
        statement = (
            ISSUE.update()
            .where(ISSUE.c.id == bindparam("child"))
            .values(parent_id=bindparam("parent"))
        )
        session.execute(statement, rows)
    return {"parent_links": len(rows)}

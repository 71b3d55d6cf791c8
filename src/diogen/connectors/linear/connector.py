"""The Linear connector: config, fetch (teams, cycles, projects, issues with history) and
normalize."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import Any

import httpx

from diogen.connectors.base import Checkpoint, FetchStats, RawItem, SilverRow, StoredKeys
from diogen.connectors.http import Clock, RetryPolicy, Sleep
from diogen.connectors.jira.connector import link_parents
from diogen.connectors.linear import queries
from diogen.connectors.linear.client import LinearApi
from diogen.connectors.linear.config import LinearConfig
from diogen.connectors.linear.fetch import LinearFetch
from diogen.connectors.linear.records import IssueRecord, LinearContext, cycle_rows
from diogen.errors import SourceError

BRONZE_ONLY = frozenset({"teams", "projects"})


class LinearConnector:
    """One workspace's teams. The source is `linear@<organization id>`, as webhooks name it;
    without `config.organization` the constructor asks the API which workspace the key is for."""

    def __init__(
        self,
        config: LinearConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.stats = FetchStats()
        self.api = LinearApi(
            config, self.stats, transport=transport, sleep=sleep, clock=clock, retry=retry
        )
        organization = config.organization or self._organization()
        self.source = config.source(organization)
        self.context = LinearContext(self.source, config.bot_pattern)

    def _organization(self) -> str:
        found = self.api.query(queries.ORGANIZATION).get("organization") or {}
        if not found.get("id"):
            raise SourceError("Linear did not say which workspace the API key belongs to")
        return str(found["id"])

    def fetch(
        self, cursors: Mapping[str, dict[str, Any]], stored: StoredKeys
    ) -> Iterator[RawItem | Checkpoint]:
        """The run's items; each checkpoint also links the parents its issues name, and the
        last one every parent the run met (a parent may come after its child)."""
        run = LinearFetch(self.api, self.config, cursors, self.stats)
        linked: dict[str, str] = {}
        try:
            for item in run.run():
                if isinstance(item, Checkpoint) and run.parents:
                    pairs = {
                        self.context.issue_id(child): self.context.issue_id(parent)
                        for child, parent in run.parents.items()
                    }
                    linked.update(pairs)
                    run.parents.clear()
                    item = Checkpoint(item.cursors, partial(link_parents, pairs=pairs))
                yield item
            if linked:
                yield Checkpoint({}, partial(link_parents, pairs=linked))
        finally:
            self.api.close()

    def normalize(self, item: RawItem) -> Iterable[SilverRow]:
        return normalize(self.context, item)


def normalize(context: LinearContext, item: RawItem) -> list[SilverRow]:
    """Silver rows of one Linear record (also what a replay of bronze calls)."""
    if item.stream == "issues":
        return IssueRecord(context, item.payload).rows()
    if item.stream == "cycles":
        return cycle_rows(context, item.payload)
    if item.stream in BRONZE_ONLY:
        return []
    raise ValueError(f"unknown Linear stream {item.stream!r}")

"""The Asana connector: config, fetch (projects, sections, tasks with stories) and normalize."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from diogen.connectors.asana.client import AsanaApi
from diogen.connectors.asana.config import AsanaConfig
from diogen.connectors.asana.fetch import AsanaFetch
from diogen.connectors.asana.records import AsanaContext, TaskRecord
from diogen.connectors.base import Checkpoint, FetchStats, RawItem, SilverRow, StoredKeys
from diogen.connectors.http import Clock, RetryPolicy, Sleep

BRONZE_ONLY = frozenset({"projects", "sections"})


class AsanaConnector:
    def __init__(
        self,
        config: AsanaConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.source = config.source
        self.stats = FetchStats()
        self.context = AsanaContext(self.source, config.bot_pattern)
        self.api = AsanaApi(
            config, self.stats, transport=transport, sleep=sleep, clock=clock, retry=retry
        )

    def fetch(
        self, cursors: Mapping[str, dict[str, Any]], stored: StoredKeys
    ) -> Iterator[RawItem | Checkpoint]:
        try:
            yield from AsanaFetch(self.api, self.config, cursors, self.stats).run()
        finally:
            self.api.close()

    def normalize(self, item: RawItem) -> Iterable[SilverRow]:
        return normalize(self.context, item)


def normalize(context: AsanaContext, item: RawItem) -> list[SilverRow]:
    """Silver rows of one Asana record (also what a replay of bronze calls)."""
    if item.stream == "tasks":
        return TaskRecord(context, item.payload).rows()
    if item.stream in BRONZE_ONLY:
        return []
    raise ValueError(f"unknown Asana stream {item.stream!r}")

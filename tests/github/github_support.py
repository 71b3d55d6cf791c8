"""Helpers for the GitHub tests, imported by name (a `conftest` module is not importable by
name once several test folders have one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine, select

from diogen.db import session_scope
from diogen.silver.base import Base


@dataclass
class Sleeper:
    """The injected sleep: records what the client would have waited, waits nothing."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class KillAfter(httpx.BaseTransport):
    """A transport that dies (as a killed process would) after `limit` requests."""

    def __init__(self, limit: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.limit = limit
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.sent > self.limit:
            raise SystemExit(f"killed after {self.limit} requests")
        return self.inner.handle_request(request)


# Bronze and the pipeline's own bookkeeping (when each event was announced) are not silver.
BRONZE = {"raw_record", "quarantined_record", "sync_cursor", "sync_run", "outbox_event"}
# Gold and its versions are derived, and count writes rather than rows (NOT_SILVER).
GOLD = {
    "gold_pull_request_commit",
    "gold_change",
    "gold_change_log",
    "gold_deployment_author",
}


def silver(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every silver row of every table, in a stable order."""
    tables = [t for t in Base.metadata.sorted_tables if t.name not in BRONZE | GOLD]
    with session_scope(engine) as session:
        return {
            table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
            for table in tables
        }

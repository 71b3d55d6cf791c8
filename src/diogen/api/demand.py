"""Which reports are asked for: the keys the warmer (`api.warmer`) computes ahead.

Each process counts the keys its requests ask for; the warmer merges the counts into one row
of `app_state` that every process and restart shares, keeping the `limit` most asked (hits
halve every week unasked; a key unasked for a month is forgotten).

A window that ended at the start of the asker's tomorrow (the dashboard's "last N days") or
just before such a window (its "previous period") is remembered as rolling: kept that many
days back from the current day, so tomorrow the warmer computes tomorrow's last N days, which
is what the same link will ask for then. Any other window is remembered as it was asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from diogen.accounts.models import AppState
from diogen.api.recipes import Key
from diogen.metrics.window import isoformat_z, parse_date, start_of_next_day
from diogen.silver.base import table_of

DEMAND_STATE = "report_demand"
HALF_LIFE = timedelta(days=7)
FORGOTTEN_AFTER = timedelta(days=30)
DAY = timedelta(days=1)


def rolling(key: Key, now: datetime) -> Key:
    """`key` with a window relative to today replaced by its place ("rolling": days before
    tomorrow its end is, its length in days)."""
    window = key.get("window")
    if not window:
        return key
    start, end = parse_date(window["from"]), parse_date(window["to"])
    tomorrow = start_of_next_day(now)
    length = end - start
    if (end == tomorrow or end == tomorrow - length) and length % DAY == timedelta(0):
        return {**key, "window": {"rolling": [(tomorrow - end) // DAY, length // DAY]}}
    return key


def resolved(key: Key, now: datetime) -> Key:
    """The key as asked today: a rolling window placed relative to the current day."""
    window = key.get("window")
    if not window or "rolling" not in window:
        return key
    back, days = window["rolling"]
    end = start_of_next_day(now) - back * DAY
    return {**key, "window": {"from": isoformat_z(end - days * DAY), "to": isoformat_z(end)}}


def _decayed(hits: float, since: float, now: float) -> float:
    return float(hits * 0.5 ** ((now - since) / HALF_LIFE.total_seconds()))


class Demand:
    """The keys asked for in this process since the last `merge`, counted."""

    def __init__(self, clock: Callable[[], datetime], limit: int) -> None:
        self.clock = clock
        self.limit = limit
        self._asked: dict[str, int] = {}
        self._lock = threading.Lock()

    def note(self, key: Key) -> None:
        text = json.dumps(rolling(key, self.clock()), sort_keys=True)
        with self._lock:
            self._asked[text] = self._asked.get(text, 0) + 1

    def merge(self, session: Session, asked_within: timedelta | None = None) -> list[Key]:
        """Add this process's counts to the shared row; the most asked keys (those asked
        within `asked_within` if given), as asked today. The caller commits."""
        with self._lock:
            asked, self._asked = self._asked, {}
        now = self.clock()
        stamp = now.timestamp()
        row = _locked_row(session)
        known: dict[str, list[float]] = json.loads(row.text_value or "{}")
        for text, hits in asked.items():
            before, since = known.get(text, [0.0, stamp])
            known[text] = [_decayed(before, since, stamp) + hits, stamp]
        kept = sorted(
            (
                (text, counted)
                for text, counted in known.items()
                if stamp - counted[1] < FORGOTTEN_AFTER.total_seconds()
            ),
            key=lambda item: -_decayed(item[1][0], item[1][1], stamp),
        )[: self.limit]
        if asked or len(kept) < len(known):
            row.text_value = json.dumps(dict(kept))
        since = stamp - (asked_within or FORGOTTEN_AFTER).total_seconds()
        return [resolved(json.loads(text), now) for text, (_, last) in kept if last >= since]


def _locked_row(session: Session) -> Any:
    """The shared row, created when missing, locked until the transaction ends (PostgreSQL;
    SQLite's write lock, taken by the insert, serialises writers)."""
    table = table_of(AppState)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(name=DEMAND_STATE, text_value="{}", int_value=0)
    session.execute(statement.on_conflict_do_nothing(index_elements=["name"]))
    query = select(AppState).where(AppState.name == DEMAND_STATE).with_for_update()
    return session.execute(query).scalar_one()

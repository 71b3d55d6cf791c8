"""The embedded log: a table in the database, read by id, one consumer per group at a time.

Ids must become visible in increasing order, or a reader that has passed id n would skip an
n-1 committed later. SQLite writes one transaction at a time; on PostgreSQL every append
takes a transaction-scoped advisory lock, which makes appends commit in id order.
Scaling consumers out is Kafka's job: here a group is read by one process (the worker holds a
lock for it), in the log's global order, which also keeps every partition's order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from diogen.bus.base import Message, Record, partition_for
from diogen.bus.models import BusEvent, BusOffset
from diogen.db import session_scope, upsert
from diogen.errors import StorageError
from diogen.pgupsert import copy_rows
from diogen.silver.base import table_of

EVENTS = table_of(BusEvent)
OFFSETS = table_of(BusOffset)
_COLUMNS = ("topic", "partition", "key", "value", "published_at")
# Any constant shared by every Diogen process; differs from the migration lock's.
_APPEND_LOCK_KEY = 0x64696F67656E01
IDLE_SLEEP = 0.05


class EmbeddedBus:
    kind = "embedded"
    exclusive_groups = True

    def __init__(self, engine: Engine, *, partitions: int, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.partitions = partitions
        self.clock = clock

    def publish(self, records: Sequence[Record]) -> None:
        with session_scope(self.engine) as session:
            self.append(session, records)

    def append(self, session: Session, records: Sequence[Record]) -> None:
        """Append within the caller's transaction (the outbox relay moves rows atomically)."""
        if not records:
            return
        now = self.clock()
        rows = [
            [r.topic, partition_for(r.key, self.partitions), r.key, r.value, now] for r in records
        ]
        if session.get_bind().dialect.name != "postgresql":
            session.execute(
                insert(BusEvent), [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
            )
            return
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
        # One COPY: an executemany costs a statement per event (~20 µs of client CPU each).
        copy_rows(session, EVENTS, _COLUMNS, rows)

    def consumer(self, group: str, topics: Sequence[str]) -> EmbeddedConsumer:
        return EmbeddedConsumer(self.engine, group, topics, self.clock)

    def check(self, timeout: float) -> None:
        """The log's tables answer (the database's own time limits apply, not `timeout`)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(select(BusEvent.id).limit(1))
        except SQLAlchemyError as exc:
            raise StorageError(f"the embedded log cannot be read: {type(exc).__name__}") from exc

    def lag(self, group: str, topics: Sequence[str]) -> dict[str, int]:
        with session_scope(self.engine) as session:
            position = committed_position(session, group)
            rows = session.execute(
                select(BusEvent.topic, func.count())
                .where(BusEvent.id > position, BusEvent.topic.in_(topics))
                .group_by(BusEvent.topic)
            )
            found = {topic: count for topic, count in rows}
        return {topic: found.get(topic, 0) for topic in topics}

    def trim(self, retention: timedelta) -> int:
        """Delete events older than `retention` that every group has read; how many."""
        with session_scope(self.engine) as session:
            slowest = session.scalar(select(func.min(BusOffset.position)))
            if slowest is None:
                return 0
            cutoff = self.clock() - retention
            result = session.execute(
                delete(BusEvent).where(BusEvent.id <= slowest, BusEvent.published_at < cutoff)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def close(self) -> None:
        """The engine belongs to the caller."""


class EmbeddedConsumer:
    def __init__(
        self, engine: Engine, group: str, topics: Sequence[str], clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.group = group
        self.topics = list(topics)
        self.clock = clock
        with session_scope(engine) as session:
            self._position = committed_position(session, group)
        self._last_polled = self._position

    def poll(self, max_messages: int, timeout: float) -> list[Message]:
        deadline = time.monotonic() + timeout
        while True:
            messages = self._read(max_messages)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(IDLE_SLEEP)

    def _read(self, limit: int) -> list[Message]:
        with session_scope(self.engine) as session:
            rows = session.execute(
                select(
                    BusEvent.id, BusEvent.topic, BusEvent.partition, BusEvent.key, BusEvent.value
                )
                .where(BusEvent.id > self._last_polled, BusEvent.topic.in_(self.topics))
                .order_by(BusEvent.id)
                .limit(limit)
            ).all()
        messages = [Message(t, p, i, k, v.encode()) for i, t, p, k, v in rows]
        if messages:
            self._last_polled = messages[-1].offset
        return messages

    def commit(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        position = max(m.offset for m in messages)
        with session_scope(self.engine) as session:
            upsert(
                session,
                OFFSETS,
                [{"group_name": self.group, "position": position, "updated_at": self.clock()}],
                key=("group_name",),
            )
        self._position = position

    def close(self) -> None:
        """Nothing is held between polls."""


def committed_position(session: Session, group: str) -> int:
    position = session.scalar(select(BusOffset.position).where(BusOffset.group_name == group))
    return int(position or 0)

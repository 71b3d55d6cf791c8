"""The pipeline's tables: the outbox, the embedded log with its group offsets, dead letters,
and the gold windows that processed events made stale.

Offsets are integers that grow with commit order: ids come from the database, and the log is
written under a lock (see embedded.py), so a reader that has seen offset n never later finds a
smaller one committed behind it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from diogen.silver.base import Base, id_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL needs 64 bits for a long log.
Sequence = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(Base):
    """An event written in the transaction of the bronze rows it announces, published later."""

    __tablename__ = "outbox_event"
    id: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class BusEvent(Base):
    """The embedded log: one row per published message; its id is the message's offset."""

    __tablename__ = "bus_event"
    # Trimming by age walks this; reading goes by id.
    __table_args__ = (Index("ix_bus_event_published_at", "published_at"),)
    id: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(200))
    partition: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(1000))
    value: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime]


class BusOffset(Base):
    """How far a consumer group has read the embedded log (the next id is after `position`)."""

    __tablename__ = "bus_offset"
    group_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class DeadLetter(Base):
    """A message a processor could not handle, with its error; its partition went on without it.

    The id is the message's place (group, topic, partition, offset), so a redelivered message
    fails into the same row. `retry_at` is set for failures that may pass later (a parent row
    not there yet); the worker retries those itself, the rest wait for `diogen dlq retry`.
    """

    __tablename__ = "dead_letter"
    id: Mapped[str] = id_column()
    group_name: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str | None] = mapped_column(String(255), index=True)
    value: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    failed_at: Mapped[datetime]
    retry_at: Mapped[datetime | None]


class StaleWindow(Base):
    """A day of a repository whose gold figures changed under them and must be recomputed."""

    __tablename__ = "stale_window"
    id: Mapped[str] = id_column()
    repository_id: Mapped[str] = mapped_column(String(32), index=True)
    day: Mapped[datetime]
    marked_at: Mapped[datetime]

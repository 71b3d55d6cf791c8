"""Bronze: raw records as fetched, quarantined rejects, sync cursors and the log of sync runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from diogen.silver.base import Base, id_column


class RawRecord(Base):
    """A record exactly as a source gave it. Append-only: a changed payload is a new row.

    The id covers source, stream, natural key and payload hash, so a re-fetch of an unchanged
    record writes nothing.
    """

    __tablename__ = "raw_record"
    # Which records of a stream are already kept (resuming a sync, finding a record's versions).
    __table_args__ = (Index("ix_raw_record_source_stream_key", "source", "stream", "natural_key"),)
    id: Mapped[str] = id_column()
    source: Mapped[str] = mapped_column(String(255))
    stream: Mapped[str] = mapped_column(String(100))
    natural_key: Mapped[str] = mapped_column(String(1000))
    payload_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime]
    request: Mapped[dict[str, Any] | None]
    payload: Mapped[dict[str, Any]]


class QuarantinedRecord(Base):
    """A record that could not be normalised, kept with its error for inspection and retry."""

    __tablename__ = "quarantined_record"
    id: Mapped[str] = id_column()
    source: Mapped[str] = mapped_column(String(255), index=True)
    stream: Mapped[str] = mapped_column(String(100))
    natural_key: Mapped[str | None] = mapped_column(String(1000))
    received_at: Mapped[datetime]
    error: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)


class SyncCursor(Base):
    """How far a source's stream has been read; written in the same transaction as its data."""

    __tablename__ = "sync_cursor"
    __table_args__ = (UniqueConstraint("source", "stream"),)
    id: Mapped[str] = id_column()
    source: Mapped[str] = mapped_column(String(255))
    stream: Mapped[str] = mapped_column(String(100))
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class SyncRun(Base):
    """One run of a sync: when, how it ended and what it did."""

    __tablename__ = "sync_run"
    id: Mapped[str] = id_column()
    source: Mapped[str] = mapped_column(String(255), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))
    records: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)


class WebhookSecret(Base):
    """A secret a provider chose for one of its webhooks (Asana's handshake), kept to verify
    that webhook's later deliveries. Written once: a second handshake for the same hook is
    refused, so nobody can swap the secret."""

    __tablename__ = "webhook_secret"
    __table_args__ = (UniqueConstraint("provider", "hook"),)
    id: Mapped[str] = id_column()
    provider: Mapped[str] = mapped_column(String(50))
    hook: Mapped[str] = mapped_column(String(255))
    secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]

"""The outbox: bronze writes announce their records in the same transaction, the relay
publishes the announcements to the bus after commit.

A rolled-back batch leaves no announcement behind, and a committed one is published sooner or
later (at least once: a relay that dies after publishing and before deleting publishes again,
which processors absorb). The relay takes rows in id order, so each key's order holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from diogen.bus.base import Bus, Record
from diogen.bus.embedded import EmbeddedBus
from diogen.bus.models import OutboxEvent
from diogen.bus.topics import topic_for
from diogen.connectors.base import RawItem
from diogen.db import execute_many
from diogen.ingest import bronze
from diogen.silver.base import table_of

CHECKPOINT = "checkpoint"


def partition_key(source: str, natural_key: str) -> str:
    """The key that keeps one repository's (or project's) records in order: the source, and
    for sources spanning several repositories the repository heading their natural keys
    ('owner/name#...', the convention of such connectors)."""
    head, separator, _ = natural_key.partition("#")
    return f"{source}/{head.lower()}" if separator else source


def event_value(
    raw_id: str | None, source: str, stream: str, natural_key: str, normalized: bool
) -> str:
    """What an event says: which bronze record, and whether silver already holds its rows
    (a sync that normalises inline announces its records for what follows normalising)."""
    return json.dumps(
        {
            "raw_id": raw_id,
            "source": source,
            "stream": stream,
            "natural_key": natural_key,
            "normalized": normalized,
        },
        separators=(",", ":"),
    )


EVENTS = table_of(OutboxEvent)
EVENT_COLUMNS = ["topic", "key", "source", "value", "created_at"]


def announce(session: Session, raw_rows: Sequence[dict[str, Any]], *, normalized: bool) -> None:
    """Outbox rows for bronze rows written in this same transaction."""
    if not raw_rows:
        return
    # Through the driver's executemany: the ORM's insert took a quarter of a bulk git sync's
    # writing time (0.66 s for 30,000 commits, against 0.2 s).
    execute_many(
        session,
        insert(EVENTS),
        EVENT_COLUMNS,
        [
            (
                topic_for(row["stream"]),
                partition_key(row["source"], row["natural_key"]),
                row["source"],
                event_value(
                    row["id"], row["source"], row["stream"], row["natural_key"], normalized
                ),
                row["fetched_at"],
            )
            for row in raw_rows
        ],
        tuples=True,
    )


def store_raw(
    session: Session, source: str, items: Sequence[RawItem], clock: Callable[[], datetime]
) -> list[dict[str, Any]]:
    """Keep `items` in bronze and announce them for processors to normalise: how records
    enter the pipeline when nothing normalises them inline (webhooks, the ingest API)."""
    rows = [bronze.raw_row(source, item, clock()) for item in items]
    bronze.write_raw(session, rows)
    announce(session, rows, normalized=False)
    return rows


def announce_checkpoint(
    session: Session, source: str, *, normalized: bool, now: datetime, scope: str = ""
) -> None:
    """A sync's checkpoint: everything of `source` announced before it is complete."""
    session.execute(
        insert(OutboxEvent).values(
            topic=topic_for(CHECKPOINT),
            key=partition_key(source, scope),
            source=source,
            value=event_value(None, source, CHECKPOINT, scope, normalized),
            created_at=now,
        )
    )


def relay(session: Session, bus: Bus, limit: int) -> int:
    """Publish up to `limit` outbox rows in id order, then delete them; how many.

    Run by one process at a time (the worker holds the relay lock). On the embedded bus the
    move is one transaction; on Kafka the rows are deleted only once the broker acknowledged.
    """
    rows = session.execute(
        select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.key, OutboxEvent.value)
        .order_by(OutboxEvent.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    records = [Record(topic, key, value) for _, topic, key, value in rows]
    if isinstance(bus, EmbeddedBus):
        bus.append(session, records)
    else:
        bus.publish(records)
    # By id, not by range: on PostgreSQL a smaller id may still be committing.
    session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_([row[0] for row in rows])))
    return len(rows)


def pending_by_source(session: Session) -> dict[str, int]:
    """Announcements not published yet, per source."""
    rows = session.execute(select(OutboxEvent.source, func.count()).group_by(OutboxEvent.source))
    return {source: count for source, count in rows}

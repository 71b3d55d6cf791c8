"""The outbox: bronze writes announce their records in the same transaction, the relay
publishes the announcements to the bus after commit.

A rolled-back batch leaves no announcement behind, and a committed one is published sooner or
later (at least once: a relay that dies after publishing and before deleting publishes again,
which processors absorb). The relay takes rows in id order, so each key's order holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from json.encoder import encode_basestring_ascii as _quoted
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from diogen.bus.base import Bus, Record
from diogen.bus.embedded import EmbeddedBus
from diogen.bus.models import OutboxEvent
from diogen.bus.topics import topic_for
from diogen.connectors.base import RawItem
from diogen.db import among, execute_many
from diogen.ingest import bronze
from diogen.silver.base import table_of

CHECKPOINT = "checkpoint"
_OUTBOX = table_of(OutboxEvent)


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
    (a sync that normalises inline announces its records for what follows normalising).

    The JSON `json.dumps` writes of that object with compact separators, put together from
    its quoted strings: a bulk sync announces every record, and a dump per event cost half
    of announcing it."""
    return (
        f'{{"raw_id":{"null" if raw_id is None else _quoted(raw_id)},'
        f'"source":{_quoted(source)},"stream":{_quoted(stream)},'
        f'"natural_key":{_quoted(natural_key)},"normalized":{"true" if normalized else "false"}}}'
    )


EVENTS = table_of(OutboxEvent)
EVENT_COLUMNS = ["topic", "key", "source", "value", "created_at"]
# Which bronze record an event announces: id, source, stream, natural key, fetched at.
Announced = tuple[str, str, str, str, datetime]


def announce(session: Session, raw_rows: Sequence[dict[str, Any]], *, normalized: bool) -> None:
    """Outbox rows for bronze rows written in this same transaction."""
    records = [
        (row["id"], row["source"], row["stream"], row["natural_key"], row["fetched_at"])
        for row in raw_rows
    ]
    announce_records(session, records, normalized=normalized)


def announce_records(session: Session, records: Sequence[Announced], *, normalized: bool) -> None:
    """`announce` of records given as tuples (`Announced`)."""
    if not records:
        return
    # Through the driver's executemany: the ORM's insert took a quarter of a bulk git sync's
    # writing time (0.66 s for 30,000 commits, against 0.2 s).
    execute_many(
        session,
        insert(EVENTS),
        EVENT_COLUMNS,
        [
            (
                topic_for(stream),
                partition_key(source, key),
                source,
                event_value(raw_id, source, stream, key, normalized),
                fetched_at,
            )
            for raw_id, source, stream, key, fetched_at in records
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
    session.execute(delete(_OUTBOX).where(among(session, _OUTBOX.c.id, [row[0] for row in rows])))
    return len(rows)


def pending_by_source(session: Session) -> dict[str, int]:
    """Announcements not published yet, per source."""
    rows = session.execute(select(OutboxEvent.source, func.count()).group_by(OutboxEvent.source))
    return {source: count for source, count in rows}

"""Writing bronze: raw records, quarantined rejects and cursors."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from hashlib import blake2b
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.connectors.base import Prepared, RawItem
from diogen.db import JsonText, SerializedJson, upsert, upsert_tuples
from diogen.ids import id_maker, stable_id
from diogen.ingest.models import QuarantinedRecord, RawRecord, SyncCursor
from diogen.silver.base import table_of

RAW = table_of(RawRecord)
QUARANTINE = table_of(QuarantinedRecord)
CURSOR = table_of(SyncCursor)
LOOKUP_CHUNK = 500


def payload_text(payload: Mapping[str, Any]) -> str:
    """Compact JSON in the payload's own key order: connectors build payloads (or receive
    them) in a fixed order, and sorting keys cost a tenth of a large sync."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def raw_row(source: str, item: RawItem, fetched_at: datetime) -> dict[str, Any]:
    """The bronze envelope of `item`; its id covers the payload, so a same re-fetch is a no-op."""
    text = payload_text(item.payload)
    digest = blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()
    return {
        "id": stable_id(source, item.stream, item.natural_key, digest),
        "source": source,
        "stream": item.stream,
        "natural_key": item.natural_key,
        "payload_hash": digest,
        "fetched_at": fetched_at,
        "request": item.request,
        "payload": SerializedJson(item.payload, text),
    }


RAW_COLUMNS = (
    "id",
    "source",
    "stream",
    "natural_key",
    "payload_hash",
    "fetched_at",
    "request",
    "payload",
)


def prepared_rows(source: str, item: Prepared, fetched_at: datetime) -> list[tuple[Any, ...]]:
    """The bronze rows of prepared records, as tuples of RAW_COLUMNS: the same rows
    `raw_row` makes of each record (the connector made the payload text and its hash)."""
    make_id = id_maker(source, item.stream)
    return [
        (make_id(key, digest), source, item.stream, key, digest, fetched_at, None, JsonText(text))
        for key, digest, text in item.records
    ]


def prepared_quarantine_row(
    source: str, item: Prepared, key: str, error: str, received_at: datetime
) -> dict[str, Any]:
    text = next(text for natural_key, _, text in item.records if natural_key == key)
    return quarantine_row(source, RawItem(item.stream, key, json.loads(text)), error, received_at)


def announced(rows: list[tuple[Any, ...]]) -> list[tuple[str, str, str, str, datetime]]:
    """What the outbox announces of bronze rows given as tuples of RAW_COLUMNS."""
    return [(id_, source, stream, key, at) for id_, source, stream, key, _, at, _, _ in rows]


def write_raw_tuples(session: Session, rows: list[tuple[Any, ...]]) -> None:
    upsert_tuples(session, RAW, RAW_COLUMNS, rows, update=())


def quarantine_row(source: str, item: RawItem, error: str, received_at: datetime) -> dict[str, Any]:
    text = payload_text(item.payload)
    return {
        "id": stable_id(source, "quarantine", item.stream, item.natural_key, text),
        "source": source,
        "stream": item.stream,
        "natural_key": item.natural_key,
        "received_at": received_at,
        "error": error,
        "payload": text,
    }


def write_raw(session: Session, rows: list[dict[str, Any]]) -> None:
    upsert(session, RAW, rows, update=())


def write_quarantine(session: Session, rows: list[dict[str, Any]]) -> None:
    upsert(session, QUARANTINE, rows, update=("error", "received_at"))


def stored_keys(session: Session, source: str, stream: str, keys: Collection[str]) -> set[str]:
    """Which of `keys` the source's stream already keeps."""
    found: set[str] = set()
    wanted = list(keys)
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        found.update(
            session.scalars(
                select(RawRecord.natural_key).where(
                    RawRecord.source == source,
                    RawRecord.stream == stream,
                    RawRecord.natural_key.in_(wanted[start : start + LOOKUP_CHUNK]),
                )
            )
        )
    return found


def load_cursors(session: Session, source: str) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(SyncCursor.stream, SyncCursor.value).where(SyncCursor.source == source)
    )
    return {stream: value for stream, value in rows}


def save_cursors(
    session: Session, source: str, cursors: Mapping[str, dict[str, Any]], now: datetime
) -> None:
    rows = [
        {
            "id": stable_id(source, "cursor", stream),
            "source": source,
            "stream": stream,
            "value": dict(value),
            "updated_at": now,
        }
        for stream, value in cursors.items()
    ]
    upsert(session, CURSOR, rows, update=("value", "updated_at"))

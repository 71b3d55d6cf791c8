"""Replay: rebuild silver from bronze, without the network, the way the pipeline builds it.

Every bronze record (of one source, or fetched since a time) is announced again, in the order
it was fetched, to a processor of its own group: the same normalisers, the same grouped
upserts, the same links and stale windows as live processing. Then each source's checkpoint
steps run once over the result (for git: refs as last synced, reachability, releases).
Records that fail land in the dead letters of group 'replay'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import blake2b
from typing import Any

from sqlalchemy import Engine, select

from diogen.accounts.audit import bump_data_version
from diogen.bus.base import Message
from diogen.config import Settings
from diogen.db import session_scope
from diogen.ingest.models import RawRecord
from diogen.ingest.outbox import event_value
from diogen.ingest.runner import utcnow
from diogen.processing.processor import Outcome, Processor

GROUP = "replay"
TOPIC = "replay"
BATCH_SIZE = 1000


@dataclass
class ReplayResult:
    records: int = 0
    outcome: Outcome = field(default_factory=Outcome)
    sources: list[str] = field(default_factory=list)


def replay(
    engine: Engine,
    settings: Settings,
    *,
    source: str | None = None,
    since: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    clock: Callable[[], datetime] = utcnow,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    processor = Processor(engine, settings, group=GROUP, clock=clock)
    query = select(RawRecord.id, RawRecord.source, RawRecord.stream, RawRecord.natural_key)
    if source is not None:
        query = query.where(RawRecord.source == source)
    if since is not None:
        query = query.where(RawRecord.fetched_at >= since)
    with session_scope(engine) as session:
        records = session.execute(query.order_by(RawRecord.fetched_at, RawRecord.id)).all()
    result = ReplayResult(len(records))
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        messages = [_message(*row) for row in chunk]
        result.outcome.add(processor.handle(messages))
        if progress is not None:
            progress(start + len(chunk))
    result.sources = sorted({row.source for row in records})
    for name in result.sources:
        result.outcome.summary.update(_finish(engine, processor, name))
    return result


def _finish(engine: Engine, processor: Processor, source: str) -> dict[str, Any]:
    """The checkpoint steps of `source`; the silver they rewrite changes the data version in
    their transaction, as a processor's batch does, so no cached report outlives it."""
    with session_scope(engine) as session:
        summary = processor.normalisers.finish(session, source)
        bump_data_version(session)
    return summary


def _message(raw_id: str, source: str, stream: str, natural_key: str) -> Message:
    # The offset names the record, so replaying again fails into the same dead letter.
    offset = int.from_bytes(blake2b(raw_id.encode(), digest_size=7).digest(), "big")
    value = event_value(raw_id, source, stream, natural_key, normalized=False)
    return Message(TOPIC, 0, offset, source, value.encode())

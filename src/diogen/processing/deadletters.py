"""Dead letters: messages a processor could not apply, kept with their error for `diogen dlq`.

A failure that may pass later (a constraint on a parent row another topic has not delivered
yet) is retried by the worker with a growing delay, up to MAX_ATTEMPTS; anything else waits
for a person to fix its cause and run `diogen dlq retry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from diogen.bus.base import Message
from diogen.bus.models import DeadLetter
from diogen.db import upsert
from diogen.ids import stable_id
from diogen.silver.base import table_of

TABLE = table_of(DeadLetter)
MAX_ATTEMPTS = 5
FIRST_DELAY = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Failure:
    message: Message
    source: str | None
    error: str
    later: bool


def letter_id(group: str, message: Message) -> str:
    return stable_id("bus", "dead_letter", group, message.topic, message.partition, message.offset)


def record(session: Session, group: str, failures: Sequence[Failure], now: datetime) -> None:
    """Keep `failures`; a message failing again counts one more attempt."""
    if not failures:
        return
    ids = {letter_id(group, f.message): f for f in failures}
    stored = session.execute(
        select(DeadLetter.id, DeadLetter.attempts).where(DeadLetter.id.in_(list(ids)))
    )
    attempts = {letter: tries for letter, tries in stored}
    rows = []
    for letter, failure in ids.items():
        tries = attempts.get(letter, 0) + 1
        m = failure.message
        rows.append(
            {
                "id": letter,
                "group_name": group,
                "topic": m.topic,
                "partition": m.partition,
                "offset": m.offset,
                "key": m.key,
                "source": failure.source,
                "value": _text(m.value),
                "error": failure.error,
                "attempts": tries,
                "failed_at": now,
                "retry_at": _next_try(now, tries) if failure.later else None,
            }
        )
    upsert(session, TABLE, rows, update=("error", "attempts", "failed_at", "retry_at"))


def _text(value: bytes) -> str:
    """The message as text a database keeps: undecodable bytes and NUL escaped."""
    return value.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _next_try(now: datetime, attempts: int) -> datetime | None:
    if attempts >= MAX_ATTEMPTS:
        return None
    delay: timedelta = FIRST_DELAY * 2 ** (attempts - 1)
    return now + delay


def resolve(session: Session, group: str, messages: Sequence[Message]) -> None:
    """Forget the dead letters of `messages`, applied at last."""
    ids = [letter_id(group, m) for m in messages]
    if ids:
        session.execute(delete(DeadLetter).where(DeadLetter.id.in_(ids)))


def listing(
    session: Session, *, source: str | None = None, limit: int | None = None
) -> list[DeadLetter]:
    query = select(DeadLetter).order_by(DeadLetter.topic, DeadLetter.partition, DeadLetter.offset)
    if source is not None:
        query = query.where(DeadLetter.source == source)
    return list(session.scalars(query.limit(limit)))


def due(session: Session, group: str, now: datetime, limit: int) -> list[DeadLetter]:
    """Dead letters of `group` whose automatic retry is due."""
    return list(
        session.scalars(
            select(DeadLetter)
            .where(DeadLetter.group_name == group, DeadLetter.retry_at <= now)
            .order_by(DeadLetter.topic, DeadLetter.partition, DeadLetter.offset)
            .limit(limit)
        )
    )


def counts_by_source(session: Session) -> dict[str | None, int]:
    rows = session.execute(select(DeadLetter.source, func.count()).group_by(DeadLetter.source))
    return {source: count for source, count in rows}


def as_message(letter: DeadLetter) -> Message:
    return Message(letter.topic, letter.partition, letter.offset, letter.key, letter.value.encode())

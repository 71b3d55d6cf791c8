"""Whether a database's reports read from gold equal those computed from silver alone.

Used by the tests of every writer path (sync runner, processors, replay, webhooks, events):
after writing through the path, the reports as they stand (gold rows for fresh repositories)
must equal the reports with every repository marked stale (silver everywhere).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from diogen.metrics import Scope, Window, dora_report
from diogen.metrics.gold import Freshness, freshness, mark_stale

# Wide enough for any test's data.
EVERYTHING = Window(datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def reports(session: Session) -> list[dict[str, Any]]:
    return [
        dora_report(session, Scope(), EVERYTHING, explain=True),
        dora_report(session, Scope(), EVERYTHING, bucket="month", explain=True),
    ]


def gold_agrees_with_silver(engine: Engine) -> tuple[bool, Freshness]:
    """(reports equal, which repositories were fresh), touching nothing: the stale marking
    for the silver side is rolled back."""
    with Session(engine) as session:
        return gold_agrees_in(session)


def gold_agrees_in(session: Session) -> tuple[bool, Freshness]:
    """The same within `session`'s transaction (its uncommitted writes included), which is
    left as it was: the stale marking runs in a savepoint."""
    known = freshness(session)
    served = reports(session)
    savepoint = session.begin_nested()
    mark_stale(session)
    computed = reports(session)
    savepoint.rollback()
    return served == computed, known

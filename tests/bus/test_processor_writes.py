"""A processor's writes. A batch whose write fails on a constraint: the poison message goes to
the dead letters, the rest is written, and finding it takes a few transactions, not one per
message (each refreshes gold, tens of milliseconds). A batch that writes silver changes the
data version once, also when two workers write at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from diogen.accounts.audit import DATA_VERSION
from diogen.accounts.models import AppState
from diogen.bus.base import Message
from diogen.config import Settings
from diogen.connectors.base import SilverRow
from diogen.db import session_scope
from diogen.processing import deadletters
from diogen.processing.processor import Event, Outcome, Planned, Processor
from diogen.silver import Organization
from diogen.silver.base import table_of

# A table no write prunes (persons no identity claims are dropped: `silver.orphans`).
ORGANIZATION = table_of(Organization)


class CountingProcessor(Processor):
    transactions = 0

    def _write(self, session: Session, plans: list[Planned], retrying: bool) -> Outcome:
        self.transactions += 1
        return super()._write(session, plans, retrying)


def planned(offset: int, row_id: str | None) -> Planned:
    message = Message("commits", 0, offset, "git:repo", b"{}")
    event = Event(f"raw{offset}", "git:repo", "commits", f"c{offset}", normalized=False)
    row = SilverRow(ORGANIZATION, {"id": row_id, "name": f"O{offset}", "source": "git:repo"})
    return Planned(message, event, rows=[row])


def test_a_failed_batch_is_split_until_the_poison_is_alone(
    engine: Engine, settings: Settings
) -> None:
    # No id: a NOT NULL violation, which no retry of this batch can get past.
    plans = [planned(n, None if n == 41 else f"p{n:02}") for n in range(64)]
    processor = CountingProcessor(engine, settings)

    outcome = processor.write(plans)

    assert (outcome.processed, outcome.dead) == (63, 1)
    with session_scope(engine) as session:
        stored = set(session.scalars(select(Organization.id)))
        letters = deadletters.listing(session)
    assert stored == {f"p{n:02}" for n in range(64) if n != 41}
    assert [(letter.offset, letter.error.split(":")[0]) for letter in letters] == [
        (41, "IntegrityError")
    ]
    # The whole batch, two halves at each of six levels, and the dead letter's own write;
    # one by one it was 66.
    assert processor.transactions == 14


def data_version(engine: Engine) -> int:
    with session_scope(engine) as session:
        found = session.scalar(select(AppState.int_value).where(AppState.name == DATA_VERSION))
    return found or 0


def test_a_batch_that_writes_silver_changes_the_data_version_once(
    engine: Engine, settings: Settings
) -> None:
    processor = Processor(engine, settings)
    # Events of an inline sync: its rows are in silver already, versioned by its sync run.
    already_normalised = [
        Planned(
            Message("commits", 0, n, "git:repo", b"{}"),
            Event(f"raw{n}", "git:repo", "commits", f"c{n}", normalized=True),
        )
        for n in range(10, 13)
    ]

    processor.write([planned(n, f"p{n:02}") for n in range(10)])
    written = data_version(engine)
    processor.write(already_normalised)

    assert written == 1
    assert data_version(engine) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_batches_on_the_same_rows_lose_no_change_of_the_data_version(
    engine: Engine, settings: Settings
) -> None:
    """Two workers' batches on the same people, at once: each bump counts, none deadlocks."""
    batches, start, errors = 5, threading.Barrier(2), []

    def work(worker: int) -> None:
        processor = Processor(engine, settings)
        start.wait()
        for batch in range(batches):
            offsets = range(worker * 100 + batch * 10, worker * 100 + batch * 10 + 10)
            try:
                processor.write([planned(n, f"p{n % 10:02}") for n in reversed(offsets)])
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert data_version(engine) == 2 * batches

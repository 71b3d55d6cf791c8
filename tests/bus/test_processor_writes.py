"""A batch whose write fails on a constraint: the poison message goes to the dead letters, the
rest is written, and finding it takes a few transactions, not one per message (each refreshes
gold, tens of milliseconds)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from diogen.bus.base import Message
from diogen.config import Settings
from diogen.connectors.base import SilverRow
from diogen.db import session_scope
from diogen.processing import deadletters
from diogen.processing.processor import Event, Outcome, Planned, Processor
from diogen.silver import Person
from diogen.silver.base import table_of

PERSON = table_of(Person)


class CountingProcessor(Processor):
    transactions = 0

    def _write(self, session: Session, plans: list[Planned], retrying: bool) -> Outcome:
        self.transactions += 1
        return super()._write(session, plans, retrying)


def planned(offset: int, person_id: str | None) -> Planned:
    message = Message("commits", 0, offset, "git:repo", b"{}")
    event = Event(f"raw{offset}", "git:repo", "commits", f"c{offset}", normalized=False)
    row = SilverRow(PERSON, {"id": person_id, "display_name": f"P{offset}", "is_bot": False})
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
        stored = set(session.scalars(select(Person.id)))
        letters = deadletters.listing(session)
    assert stored == {f"p{n:02}" for n in range(64) if n != 41}
    assert [(letter.offset, letter.error.split(":")[0]) for letter in letters] == [
        (41, "IntegrityError")
    ]
    # The whole batch, two halves at each of six levels, and the dead letter's own write;
    # one by one it was 66.
    assert processor.transactions == 14

"""Dead letters recover: once the cause of a failure is gone, a letter is applied (by
`diogen dlq retry`, or by the worker itself when its retry is due), leaves the dead letters,
and silver and gold end as an undisturbed run left them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from bus_support import CLI, Snapshot, assert_gold_as_undisturbed, copy_bronze, drain, snapshot
from sqlalchemy import Engine, delete, insert, select, text

from diogen.bus import make_bus
from diogen.bus.models import DeadLetter
from diogen.config import Settings
from diogen.db import session_scope
from diogen.ingest.models import RawRecord
from diogen.processing import deadletters
from diogen.processing.locks import make_locks
from diogen.processing.worker import Worker
from diogen.silver import Commit
from diogen.testing.gitrepo import GitRepo

NOW = datetime(2025, 1, 1, tzinfo=UTC)
BLOCKED = "parent row not there yet"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def letters(engine: Engine) -> list[DeadLetter]:
    with session_scope(engine) as session:
        return deadletters.listing(session)


def commit_shas(engine: Engine) -> set[str]:
    with session_scope(engine) as session:
        return set(session.scalars(select(Commit.sha)))


def deployed_commit(history: GitRepo) -> str:
    """A commit of the first release, with older commits behind it: missing from silver when
    its sync's checkpoint is applied, it cuts them off from the tips."""
    return history.git("rev-parse", "v1.0.0~2")


def run_worker(engine: Engine, settings: Settings, clock: Clock | None = None) -> None:
    locks = make_locks(settings, engine)
    options: dict[str, Any] = {} if clock is None else {"clock": clock}
    try:
        drain(engine, settings, make_bus(settings, engine), locks, **options)
    finally:
        locks.close()


def test_dlq_retry_applies_a_letter_whose_cause_was_fixed(
    reference: tuple[Engine, Snapshot], target: Engine, settings: Settings, history: GitRepo
) -> None:
    engine, expected = reference
    sha = deployed_commit(history)
    copy_bronze(engine, target, announce=True)
    # The commit's event is announced but its bronze record is missing (restored later, as
    # from a backup): the event cannot be applied, and no automatic retry would help.
    record = RawRecord.__table__
    with session_scope(target) as session:
        wanted = (record.c.stream == "commits") & (record.c.natural_key == sha)
        (missing,) = [dict(r._mapping) for r in session.execute(select(record).where(wanted))]
        session.execute(delete(record).where(wanted))

    run_worker(target, settings)

    (letter,) = letters(target)
    assert letter.error.startswith("LookupError: bronze record") and letter.retry_at is None
    assert sha not in commit_shas(target)
    assert snapshot(target) != expected

    with session_scope(target) as session:
        session.execute(insert(record), [missing])
    url = target.url.render_as_string(hide_password=False)
    retried = subprocess.run(
        [sys.executable, "-c", CLI, "dlq", "retry", "--database", url],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert retried.returncode == 0, retried.stderr
    assert "retried 1: 1 applied" in retried.stderr
    assert letters(target) == []
    assert sha in commit_shas(target)
    got = snapshot(target)
    for table in expected:
        if got[table] != expected[table]:
            print(table, sorted(set(got[table]) ^ set(expected[table])))
    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, engine)


def block_commit(engine: Engine, sha: str) -> None:
    """Writing the commit `sha` fails on a constraint, as a child row fails before its parent
    arrives: a failure the worker retries later by itself."""
    if engine.dialect.name == "postgresql":
        statements = [
            "CREATE FUNCTION block_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '{BLOCKED}' USING ERRCODE = 'foreign_key_violation'; END $$",
            "CREATE TRIGGER block_commit BEFORE INSERT ON git_commit FOR EACH ROW "
            f"WHEN (NEW.sha = '{sha}') EXECUTE FUNCTION block_commit()",
        ]
    else:
        statements = [
            "CREATE TRIGGER block_commit BEFORE INSERT ON git_commit "
            f"WHEN NEW.sha = '{sha}' BEGIN SELECT RAISE(ABORT, '{BLOCKED}'); END"
        ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def unblock_commit(engine: Engine) -> None:
    on = " ON git_commit" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as connection:
        connection.execute(text(f"DROP TRIGGER block_commit{on}"))


def test_the_worker_applies_a_due_letter_itself(
    reference: tuple[Engine, Snapshot], target: Engine, settings: Settings, history: GitRepo
) -> None:
    engine, expected = reference
    sha = deployed_commit(history)
    clock = Clock(NOW)
    copy_bronze(engine, target, announce=True)
    block_commit(target, sha)

    run_worker(target, settings, clock)

    (letter,) = letters(target)
    assert BLOCKED in letter.error and letter.error.startswith("IntegrityError")
    assert (letter.attempts, letter.retry_at) == (1, NOW + deadletters.FIRST_DELAY)
    assert sha not in commit_shas(target)

    locks = make_locks(settings, target)
    worker = Worker(
        target,
        settings,
        make_bus(settings, target),
        locks,
        schedule=False,
        poll_seconds=0.2,
        clock=clock,
    )
    try:
        # Not due yet: untouched.
        clock.now = NOW + deadletters.FIRST_DELAY - timedelta(seconds=1)
        worker.step()
        assert [(d.attempts, d.retry_at) for d in letters(target)] == [
            (1, NOW + deadletters.FIRST_DELAY)
        ]
        # Due while its cause is still there: it fails again, and waits twice as long.
        clock.now = NOW + deadletters.FIRST_DELAY
        worker.step()
        again = clock.now + 2 * deadletters.FIRST_DELAY
        assert [(d.attempts, d.retry_at) for d in letters(target)] == [(2, again)]
        assert sha not in commit_shas(target)
        # The parent arrives; at the next due time the worker applies the letter.
        unblock_commit(target)
        clock.now = again - timedelta(seconds=1)
        worker.step()
        assert len(letters(target)) == 1
        clock.now = again
        worker.step()
    finally:
        worker.close()
        locks.close()

    assert letters(target) == []
    assert worker.stats.outcome.processed >= 1
    assert sha in commit_shas(target)
    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, engine)

"""The pipeline on the embedded log: processors and replay build exactly the silver that the
inline sync built, poison goes to the dead letters, and the outbox only announces commits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from bus_support import Snapshot, assert_gold_as_undisturbed, copy_bronze, drain, snapshot
from sqlalchemy import Engine, func, insert, select

from diogen.bus import make_bus
from diogen.bus.models import BusEvent, DeadLetter, OutboxEvent, StaleWindow
from diogen.bus.topics import COMMITS
from diogen.config import Settings
from diogen.db import session_scope
from diogen.ingest.models import RawRecord, SyncRun
from diogen.ingest.outbox import event_value
from diogen.ingest.replay import replay
from diogen.processing import deadletters, processor
from diogen.processing.locks import make_locks
from diogen.processing.processor import Processor
from diogen.testing.gold_check import gold_agrees_with_silver

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def run_worker(engine: Engine, settings: Settings) -> None:
    locks = make_locks(settings, engine)
    try:
        drain(engine, settings, make_bus(settings, engine), locks)
    finally:
        locks.close()


@pytest.mark.parametrize(
    ("raw_id", "natural_key", "normalized"),
    [
        (None, "", False),
        ("0" * 32, "acme/api#12", True),
        ("x", 'quote " backslash \\ tab \t nul \x00 é ☃ \U0001f600', False),
    ],
)
def test_an_event_says_what_json_says(
    raw_id: str | None, natural_key: str, normalized: bool
) -> None:
    """Events are put together from quoted strings: the same text as dumping the object."""
    fields = {
        "raw_id": raw_id,
        "source": "jira:ü",
        "stream": "issues",
        "natural_key": natural_key,
        "normalized": normalized,
    }
    expected = json.dumps(fields, separators=(",", ":"))
    assert event_value(raw_id, "jira:ü", "issues", natural_key, normalized) == expected


def test_processors_build_what_the_inline_sync_built(
    reference: tuple[Engine, Snapshot], target: Engine, settings: Settings
) -> None:
    _, expected = reference
    records = copy_bronze(reference[0], target, announce=True)

    run_worker(target, settings)

    assert snapshot(target) == expected
    assert expected["git_commit"] and expected["deployment_commit"]
    assert count(target, OutboxEvent) == 0
    assert count(target, BusEvent) == records + 1  # and the checkpoint
    assert count(target, DeadLetter) == 0
    assert count(target, StaleWindow) > 0
    # The processors refreshed gold with their batches, and it serves silver's numbers.
    agrees, known = gold_agrees_with_silver(target)
    assert agrees and known.fresh and not known.stale
    # So did the inline sync (the runner) of the reference.
    agrees, known = gold_agrees_with_silver(reference[0])
    assert agrees and known.fresh and not known.stale
    # And the two golds are the same rows.
    assert_gold_as_undisturbed(target, reference[0])


def test_replay_rebuilds_silver_from_bronze_alone(
    reference: tuple[Engine, Snapshot], target: Engine, settings: Settings
) -> None:
    engine, expected = reference
    copy_bronze(engine, target, announce=False)

    first = replay(target, settings)
    rebuilt = snapshot(target)
    replay(target, settings)
    again = replay(engine, settings, source="git:repo")

    assert rebuilt == expected
    assert snapshot(target) == expected
    agrees, known = gold_agrees_with_silver(target)
    assert agrees and known.fresh
    assert snapshot(engine) == expected
    assert first.records == count(engine, RawRecord)
    assert first.sources == ["git:repo"]
    assert first.outcome.dead == 0 and again.outcome.dead == 0
    # Two commits fell out of history (the deleted branch), and stay out after a replay.
    assert sum(1 for row in rebuilt["git_commit"] if row[-1] is False or row[-1] == 0) >= 1


def test_replay_since_only_touches_newer_records(
    reference: tuple[Engine, Snapshot], target: Engine, settings: Settings
) -> None:
    engine, expected = reference
    copy_bronze(engine, target, announce=False)
    with session_scope(target) as session:
        newest = session.scalar(select(func.max(RawRecord.fetched_at)))

    result = replay(target, settings, since=newest)

    assert result.records == 1
    assert len(snapshot(target)["git_commit"]) < len(expected["git_commit"])


def test_inline_sync_announces_its_records_and_processors_only_mark_windows(
    reference: tuple[Engine, Snapshot], settings: Settings
) -> None:
    engine, expected = reference
    announced = count(engine, OutboxEvent)

    run_worker(engine, settings)

    with session_scope(engine) as session:
        fetched = session.scalar(select(func.sum(SyncRun.records)))
    assert announced == fetched + 2  # every record each sync read, and its checkpoint
    assert count(engine, OutboxEvent) == 0
    assert snapshot(engine) == expected
    assert count(engine, StaleWindow) > 0


def test_a_batch_planned_in_chunks_builds_the_same_silver(
    reference: tuple[Engine, Snapshot],
    target: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Bronze is loaded a chunk at a time; 7 puts chunk boundaries inside every batch.
    monkeypatch.setattr(processor, "PLAN_CHUNK", 7)
    _, expected = reference
    records = copy_bronze(reference[0], target, announce=True)
    assert records > 7

    run_worker(target, settings)

    assert snapshot(target) == expected
    assert count(target, DeadLetter) == 0


def test_poison_goes_to_the_dead_letters_and_the_rest_goes_on(
    reference: tuple[Engine, Snapshot], target: Engine, settings: Settings
) -> None:
    _, expected = reference
    with session_scope(target) as session:
        session.execute(
            insert(OutboxEvent),
            [
                {
                    "topic": COMMITS,
                    "key": "git:repo",
                    "source": "git:repo",
                    "value": "{not json",
                    "created_at": NOW,
                },
                {
                    "topic": COMMITS,
                    "key": "jira:x",
                    "source": "jira:x",
                    "created_at": NOW,
                    "value": event_value("nope", "jira:x", "issues", "X-1", normalized=False),
                },
            ],
        )
    copy_bronze(reference[0], target, announce=True)

    run_worker(target, settings)

    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, reference[0])
    with session_scope(target) as session:
        letters = deadletters.listing(session)
        errors = sorted(letter.error.split(":")[0] for letter in letters)
        assert errors == ["LookupError", "malformed event"]
        assert all(letter.retry_at is None and letter.attempts == 1 for letter in letters)
        assert deadletters.counts_by_source(session) == {None: 1, "jira:x": 1}
        messages = [deadletters.as_message(letter) for letter in letters]

    outcome = Processor(target, settings).handle(messages, retrying=True)

    assert outcome.dead == 2
    with session_scope(target) as session:
        assert [letter.attempts for letter in deadletters.listing(session)] == [2, 2]
    # Failing again changed nothing else.
    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, reference[0])

"""The pipeline on Kafka (a real Kafka-protocol broker, tansu) with PostgreSQL and SQLite:
one worker or two sharing a consumer group, a broker restart, and poison in a partition all
end in the silver an undisturbed inline sync built, and in its gold."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from bus_support import (
    T0,
    Broker,
    Snapshot,
    assert_gold_as_undisturbed,
    bus_of,
    copy_bronze,
    drain,
    kafka_settings,
    snapshot,
)
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from diogen.api import create_app
from diogen.bus.base import Record
from diogen.bus.models import DeadLetter, OutboxEvent
from diogen.bus.topics import ALL_TOPICS, COMMITS
from diogen.config import load_settings
from diogen.connectors.git import GitConfig, GitConnector
from diogen.db import session_scope
from diogen.ingest.runner import run_sync
from diogen.processing.locks import make_locks
from diogen.processing.worker import Worker
from diogen.testing.gitrepo import GitRepo

# Its key ('git:other') and 'git:repo' fall in different partitions of 4 (murmur2).
OTHER = "other"


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_one_worker_builds_what_the_inline_sync_built(
    reference: tuple[Engine, Snapshot], target: Engine, broker: Broker
) -> None:
    engine, expected = reference
    settings = kafka_settings(broker)
    bus = bus_of(broker)
    # Poison first in the repository's partition, as a foreign producer might write it.
    bus.publish([Record(COMMITS, "git:repo", "\x00poison")])
    copy_bronze(engine, target, announce=True)
    locks = make_locks(settings, target)
    try:
        drain(target, settings, bus, locks)
        lag = bus.lag("silver", ALL_TOPICS)
    finally:
        locks.close()
        bus.close()

    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, engine)
    assert count(target, DeadLetter) == 1
    assert count(target, OutboxEvent) == 0
    assert sum(lag.values()) == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_split_partitions_and_agree_with_one(
    reference: tuple[Engine, Snapshot], target: Engine, broker: Broker, tmp_path: Path
) -> None:
    engine, _ = reference
    other = GitRepo(tmp_path / "other")
    for n in range(5):
        other.commit(f"o{n}", T0 + timedelta(days=n))
    run_sync(engine, GitConnector(GitConfig(location=str(other.path), name=OTHER)))
    expected = snapshot(engine)
    settings = kafka_settings(broker)
    copy_bronze(engine, target, announce=True)
    workers = [
        Worker(
            target,
            settings,
            bus_of(broker),
            make_locks(settings, target),
            schedule=False,
            poll_seconds=0.2,
            batch_size=10,
        )
        for _ in range(2)
    ]
    threads = [threading.Thread(target=w.run) for w in workers]
    for thread in threads:
        thread.start()
    try:
        _wait_for(lambda: snapshot(target) == expected, seconds=60)
    finally:
        for w in workers:
            w.stop()
        for thread in threads:
            thread.join(30)
        for w in workers:
            w.locks.close()
            w.bus.close()

    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, engine)
    # Each repository's partition went to a different worker, never to both.
    first, second = (w.stats.partitions for w in workers)
    assert first and second and not first & second, (first, second)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_broker_restart_loses_nothing(
    reference: tuple[Engine, Snapshot], target: Engine, broker: Broker
) -> None:
    engine, expected = reference
    settings = kafka_settings(broker)
    copy_bronze(engine, target, announce=True)
    broker.stop()
    locks = make_locks(settings, target)
    bus = bus_of(broker)
    worker = Worker(target, settings, bus, locks, schedule=False, poll_seconds=0.2)
    try:
        worker.step()  # publishing fails: the outbox keeps every event
        assert worker.stats.errors == 1
        assert count(target, OutboxEvent) > 0
        broker.start()  # empty: the in-memory broker lost its topics, as a crash would
        drain(target, settings, bus_of(broker), locks)
    finally:
        locks.close()

    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, engine)
    assert count(target, OutboxEvent) == 0


def _wait_for(check: object, *, seconds: float) -> None:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)


def test_the_api_says_kafka_is_ready_and_exports_its_lag(
    reference: tuple[Engine, Snapshot], broker: Broker, database_url: str
) -> None:
    bus = bus_of(broker)
    bus.publish([Record(COMMITS, f"git:repo/{n}", "{}") for n in range(3)])
    bus.close()
    settings = load_settings(
        None, database_url=database_url, bus="kafka", kafka_bootstrap_servers=broker.bootstrap
    )

    with TestClient(create_app(settings, warm=False)) as client:
        ready = client.get("/ready")
        exposition = client.get("/metrics").text

    assert ready.status_code == 200 and ready.json()["checks"]["bus"] == "ok"
    # Nothing consumed yet: the three records are the group's lag.
    assert 'diogen_bus_lag_events{group="silver",topic="git.commits"} 3.0' in exposition
    assert "diogen_pipeline_figures_up 1" in exposition

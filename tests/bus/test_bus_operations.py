"""Locks on every backend, the scheduler, status and its metrics, and the replay/dlq/status
commands."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from bus_support import CLI, T0, Snapshot
from prometheus_client import generate_latest
from sqlalchemy import Engine, insert

from diogen.bus import make_bus
from diogen.bus.models import OutboxEvent
from diogen.bus.topics import COMMITS
from diogen.config import Settings
from diogen.db import make_engine, session_scope
from diogen.ingest.models import SyncRun
from diogen.ingest.runner import ABANDONED, utcnow
from diogen.processing import scheduler
from diogen.processing.locks import FileLocks, Locks, PostgresLocks, RedisLocks
from diogen.processing.status import pipeline_status, registry
from diogen.processing.worker import GROUP


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=120
    )


def exclusive(first: Locks, second: Locks) -> None:
    name = f"test:{uuid.uuid4().hex}"
    assert first.acquire(name)
    assert first.acquire(name)  # held already: still ours
    assert not second.acquire(name)
    first.release(name)
    assert second.acquire(name)
    second.close()  # closing releases
    assert first.acquire(name)
    first.close()


def test_file_locks_are_exclusive(tmp_path: Path) -> None:
    exclusive(FileLocks(tmp_path), FileLocks(tmp_path))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_locks_are_exclusive_per_schema(postgres_url: str, target: Engine) -> None:
    engine = make_engine(postgres_url)
    exclusive(PostgresLocks(engine), PostgresLocks(engine))
    # Schemas of one database hold separate Diogens: their locks never collide.
    mine, theirs = PostgresLocks(engine), PostgresLocks(target)
    assert mine.acquire("relay") and theirs.acquire("relay")
    mine.close()
    theirs.close()
    engine.dispose()


def test_redis_locks_are_exclusive_and_renewed(redis_url: str) -> None:
    space = uuid.uuid4().hex
    first = RedisLocks(redis_url, namespace=space, ttl=0.6)
    second = RedisLocks(redis_url, namespace=space, ttl=0.6)
    name = f"test:{uuid.uuid4().hex}"
    assert first.acquire(name)
    import time

    time.sleep(1.5)  # past two TTLs: only renewal keeps it
    assert not second.acquire(name)
    first.close()
    assert second.acquire(name)
    second.close()
    exclusive(RedisLocks(redis_url, namespace=space), RedisLocks(redis_url, namespace=space))
    # Another Diogen (another database) has locks of its own.
    third, fourth = (
        RedisLocks(redis_url, namespace=space),
        RedisLocks(redis_url, namespace="x" + space),
    )
    assert third.acquire("relay") and fourth.acquire("relay")
    third.close()
    fourth.close()


def test_scheduler_runs_a_due_sync_once_and_respects_the_lock(
    reference: tuple[Engine, Snapshot], tmp_path: Path
) -> None:
    engine, _ = reference
    settings = Settings(schedule_minutes={"git:repo": 10})
    locks, other = FileLocks(tmp_path / "l"), FileLocks(tmp_path / "l")
    with session_scope(engine) as session:
        (job,) = scheduler.jobs(session, settings)
    assert job.source == "git:repo" and job.interval == timedelta(minutes=10)
    later = utcnow() + timedelta(minutes=11)

    assert other.acquire("sync:git:repo")
    assert scheduler.run_due(engine, settings, locks, lambda: later, lambda: False) == []
    other.close()
    ran = scheduler.run_due(engine, settings, locks, lambda: later, lambda: False)
    again = scheduler.run_due(engine, settings, locks, lambda: later, lambda: False)

    assert [r.source for r in ran] == ["git:repo"] and again == []
    with session_scope(engine) as session:
        assert scheduler.jobs(session, Settings(schedule_minutes={"git:repo": 0})) == []


def test_status_and_metrics_show_each_source(
    reference: tuple[Engine, Snapshot], settings: Settings
) -> None:
    engine, _ = reference
    with session_scope(engine) as session:
        session.execute(
            insert(OutboxEvent),
            [{"topic": COMMITS, "key": "k", "source": "git:repo", "value": "{}", "created_at": T0}],
        )
        found = pipeline_status(session, make_bus(settings, engine), GROUP)

    (repo,) = found.sources
    assert repo.source == "git:repo" and repo.last_status == "succeeded"
    assert repo.unpublished > 1 and repo.failures_since_success == 0
    assert found.lag[COMMITS] == 0
    text = generate_latest(registry(found)).decode()
    assert (
        f'diogen_outbox_unpublished_events{{source="git:repo"}} {float(repo.unpublished)}' in text
    )
    assert 'diogen_bus_lag_events{group="silver",topic="git.commits"} 0.0' in text


def test_status_takes_each_sources_last_run_and_its_failures_since_a_success(
    engine: Engine, settings: Settings
) -> None:
    runs = {
        "git:a": ["failed", "succeeded", "failed", ABANDONED],
        "git:b": ["failed", "failed"],
        "git:c": ["failed", "succeeded"],
    }
    with session_scope(engine) as session:
        session.add_all(
            SyncRun(
                id=f"{source}-{n}",
                source=source,
                started_at=T0 + timedelta(hours=n),
                finished_at=T0 + timedelta(hours=n, minutes=5),
                status=status,
                records=n,
                error=None if status == "succeeded" else f"run {n}",
            )
            for source, statuses in runs.items()
            for n, status in enumerate(statuses)
        )
    with session_scope(engine) as session:
        found = {
            s.source: s for s in pipeline_status(session, make_bus(settings, engine), GROUP).sources
        }

    seen = {
        name: (s.last_status, s.last_records, s.last_error, s.failures_since_success)
        for name, s in found.items()
    }
    assert seen == {
        "git:a": (ABANDONED, 3, "run 3", 2),
        "git:b": ("failed", 1, "run 1", 2),
        "git:c": ("succeeded", 1, None, 0),
    }
    assert found["git:a"].last_started == T0 + timedelta(hours=3)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_commands(reference: tuple[Engine, Snapshot], database_url: str) -> None:
    engine, _ = reference
    with session_scope(engine) as session:
        session.execute(
            insert(OutboxEvent),
            [
                {
                    "topic": COMMITS,
                    "key": "git:repo",
                    "source": "git:repo",
                    "value": "junk",
                    "created_at": T0,
                }
            ],
        )
    drained = cli("worker", "--drain", "--database", database_url)
    listed = cli("dlq", "list", "--format", "json", "--database", database_url)
    retried = cli("dlq", "retry", "--database", database_url)
    status = cli("status", "--format", "json", "--database", database_url)
    metrics = cli("status", "--format", "prometheus", "--database", database_url)
    replayed = cli("replay", "--source", "git:repo", "--database", database_url)
    nothing = cli("replay", "--source", "git:nope", "--database", database_url)
    bad = cli("replay", "--since", "yesterday", "--database", database_url)

    assert drained.returncode == 0, drained.stderr
    (letter,) = json.loads(listed.stdout)
    assert letter["error"].startswith("malformed event") and letter["value"] == "junk"
    assert retried.returncode == 1 and "1 still failing" in retried.stderr
    document = json.loads(status.stdout)
    # Unreadable, it names no source: counted in the total only.
    assert document["dead_letters"] == 1 and document["sources"][0]["dead_letters"] == 0
    exposed = metrics.stdout.splitlines()
    assert 'diogen_dead_letters{source="git:repo"} 0.0' in exposed
    assert 'diogen_sync_failures{source="git:repo"} 0.0' in exposed
    assert "diogen_sync_last_records" in metrics.stdout and metrics.returncode == 0
    assert replayed.returncode == 0 and "0 dead letters" in replayed.stderr, replayed.stderr
    assert nothing.returncode == 2 and nothing.stderr.startswith("error: no bronze records")
    assert bad.returncode == 2 and "--since" in bad.stderr

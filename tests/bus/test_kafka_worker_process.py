"""Two `diogen worker` processes on Kafka and PostgreSQL share a consumer group; one is killed
with SIGKILL in the middle of a batch. The other takes over its partitions once the group
notices, and silver and gold end as an undisturbed run left them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from bus_support import (
    CLI,
    PARTITIONS,
    T0,
    Broker,
    Snapshot,
    assert_gold_as_undisturbed,
    bus_of,
    copy_bronze,
    snapshot,
)
from sqlalchemy import Engine, func, select, text

from diogen.bus.models import DeadLetter, OutboxEvent
from diogen.bus.topics import ALL_TOPICS
from diogen.connectors.git import GitConfig, GitConnector
from diogen.db import session_scope
from diogen.ingest.runner import run_sync
from diogen.silver import Commit
from diogen.testing.gitrepo import GitRepo

APP = "diogen-kill-"
Process = subprocess.Popen[bytes]
# A batch's transaction holds its repositories' gold locks (`metrics.gold_refresh._lock`)
# from its refresh until it commits: a worker seen holding one is in the middle of a batch,
# with the batch's silver rows written and not committed.
MID_BATCH = text(
    "SELECT a.application_name, r.id FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "JOIN repository r ON l.objid = hashtext(r.id)::oid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
    "AND l.classid = hashtext('diogen gold ' || current_schema())::oid "
    "AND a.application_name LIKE :app"
)


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def commits_by_repository(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(Commit.repository_id, func.count()).group_by(Commit.repository_id)
        )
        return {repository: n for repository, n in rows}


def wait_for(check: Callable[[], bool], seconds: float, what: str, every: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(every)


@pytest.fixture
def workers(target: Engine, broker: Broker, tmp_path: Path) -> Iterator[dict[str, Process]]:
    """Two `diogen worker` processes on Kafka, each named in its database connections."""
    started: dict[str, Process] = {}
    for n in (1, 2):
        name = f"{APP}{n}"
        url = target.url.update_query_dict({"application_name": name})
        with open(tmp_path / f"{name}.log", "wb") as log:
            started[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    CLI,
                    "worker",
                    *("--database", url.render_as_string(hide_password=False)),
                    *("--bus", "kafka", "--kafka", broker.bootstrap),
                    *("--no-schedule", "--batch-size", "1"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    "DIOGEN_LOG_LEVEL": "ERROR",
                    "DIOGEN_BUS_PARTITIONS": str(PARTITIONS),
                },
            )
    yield started
    for process in started.values():
        if process.poll() is None:
            process.kill()
            process.wait(30)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_killed_mid_batch_is_replaced_by_the_other(
    reference: tuple[Engine, Snapshot],
    target: Engine,
    broker: Broker,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    engine, _ = reference
    # A second repository: its own source, so its own partition, which the group gives to
    # one worker while 'repo' goes to the other (as the two-worker test shows).
    other = GitRepo(tmp_path / "other")
    for n in range(40):
        other.commit(f"o{n}", T0 + timedelta(hours=n), files={f"o{n % 5}.py": f"{n}\n"})
    run_sync(engine, GitConnector(GitConfig(location=str(other.path), name="other")))
    expected = snapshot(engine)
    totals = commits_by_repository(engine)
    copy_bronze(engine, target, announce=True)

    processes = request.getfixturevalue("workers")  # started now, with the outbox full
    killed: list[tuple[str, str]] = []

    def caught_mid_batch() -> bool:
        with target.connect() as connection:
            holding = connection.execute(MID_BATCH, {"app": f"{APP}%"}).all()
        done = commits_by_repository(target)
        for name, repository in holding:
            # Mid-batch with work of its own left: its partition must change hands.
            if 3 <= done.get(repository, 0) <= totals[repository] - 5:
                processes[name].send_signal(signal.SIGKILL)
                killed.append((name, repository))
                return True
        return False

    wait_for(caught_mid_batch, 180, "a worker seen in the middle of a batch", every=0.01)
    (name, repository), *_ = killed
    processes[name].wait(30)
    interrupted = snapshot(target)
    survivor_name = next(n for n in processes if n != name)
    survivor = processes[survivor_name]

    bus = bus_of(broker)
    try:

        def finished() -> bool:
            if survivor.poll() is not None:
                return True  # died: said below
            if count(target, OutboxEvent):
                return False
            return not any(bus.lag("silver", ALL_TOPICS).values())

        wait_for(finished, 300, "the survivor applying and committing everything", every=0.5)
        log = tmp_path / f"{survivor_name}.log"
        assert survivor.poll() is None, log.read_text(errors="replace")
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(60)
        lag = bus.lag("silver", ALL_TOPICS)
    finally:
        bus.close()

    assert interrupted != expected, "nothing was left to do when the worker was killed"
    assert commits_by_repository(target)[repository] == totals[repository]
    assert survivor.returncode == 0, log.read_text(errors="replace")
    assert sum(lag.values()) == 0
    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, engine)
    assert count(target, OutboxEvent) == 0
    assert count(target, DeadLetter) == 0

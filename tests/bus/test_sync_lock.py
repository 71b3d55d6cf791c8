"""One sync of a source at a time, whoever starts it: `diogen sync` takes the lock the
worker's scheduled syncs take, and says so in one line when it is held. Runs whose process
died while 'running' are marked abandoned once their lock is free."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from bus_support import CLI, T0
from sqlalchemy import Engine, select

from diogen.config import Settings
from diogen.db import session_scope
from diogen.ingest.models import SyncRun
from diogen.ingest.runner import ABANDONED
from diogen.processing.locks import make_locks, sync_lock_name
from diogen.processing.scheduler import abandon_dead_runs
from diogen.testing.gitrepo import GitRepo

SOURCE = "git:repo"
HOLD = (
    "import sys, time; from diogen.config import Settings; from diogen.db import make_engine; "
    "from diogen.processing.locks import make_locks; "
    "locks = make_locks(Settings(), make_engine(sys.argv[1])); "
    "assert locks.acquire(sys.argv[2]); print('held', flush=True); time.sleep(600)"
)


def diogen(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIOGEN_LOG_LEVEL": "ERROR"}
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, env=env, timeout=120
    )


def runs(engine: Engine) -> list[tuple[str, str | None]]:
    with session_scope(engine) as session:
        return [
            (run.status, run.error)
            for run in session.scalars(select(SyncRun).order_by(SyncRun.started_at))
        ]


def test_manual_sync_waits_for_nobody_and_says_the_lock_is_held(
    engine: Engine, history: GitRepo, database_url: str
) -> None:
    url = database_url
    locks = make_locks(Settings(), engine)
    assert locks.acquire(sync_lock_name(SOURCE))  # as a worker running this sync would
    try:
        busy = diogen("sync", "git", str(history.path), "--name", "repo", "--database", url)
    finally:
        locks.close()
    done = diogen("sync", "git", str(history.path), "--name", "repo", "--database", database_url)

    assert busy.returncode == 1
    lines = busy.stderr.strip().splitlines()
    assert len(lines) == 1 and "git:repo is being synced by another process" in lines[0]
    assert done.returncode == 0, done.stderr
    assert runs(engine) == [("succeeded", None)]


def test_runs_of_a_killed_sync_are_abandoned_once_its_lock_is_free(
    engine: Engine, history: GitRepo, database_url: str
) -> None:
    with session_scope(engine) as session:  # what a sync killed with SIGKILL leaves
        session.add(SyncRun(id="r1", source=SOURCE, started_at=T0, status="running"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, database_url, sync_lock_name(SOURCE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        locks = make_locks(Settings(), engine)
        clock = lambda: T0 + timedelta(hours=1)  # noqa: E731
        still_held = abandon_dead_runs(engine, locks, clock)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        deadline = time.monotonic() + 10
        freed = 0
        while not freed and time.monotonic() < deadline:  # the database notices the death
            freed = abandon_dead_runs(engine, locks, clock)
            time.sleep(0.1)
        locks.close()
    finally:
        holder.kill()
        holder.wait()

    assert still_held == 0 and freed == 1
    [(status, error)] = runs(engine)
    assert status == ABANDONED and error is not None and "ended before" in error
    with session_scope(engine) as session:
        run = session.get(SyncRun, "r1")
        assert run is not None and run.finished_at == T0 + timedelta(hours=1)
    # A manual sync abandons what is left too, then runs.
    with session_scope(engine) as session:
        session.add(SyncRun(id="r2", source=SOURCE, started_at=T0, status="running"))
    done = diogen("sync", "git", str(history.path), "--name", "repo", "--database", database_url)
    assert done.returncode == 0, done.stderr
    assert [status for status, _ in runs(engine)] == [ABANDONED, ABANDONED, "succeeded"]

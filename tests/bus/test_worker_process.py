"""`diogen worker` as a process: killed with SIGKILL mid-work it loses nothing (the next run
ends in the silver and gold of an undisturbed run); SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from bus_support import CLI, Snapshot, assert_gold_as_undisturbed, copy_bronze, snapshot
from sqlalchemy import Engine, func, select

from diogen.bus.models import OutboxEvent
from diogen.db import session_scope
from diogen.silver import Commit


def start_worker(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "worker", "--database", url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DIOGEN_LOG_LEVEL": "ERROR"},
    )


def rows(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_killed_worker_resumes_to_the_undisturbed_result(
    reference: tuple[Engine, Snapshot], target: Engine
) -> None:
    engine, expected = reference
    copy_bronze(engine, target, announce=True)
    url = target.url.render_as_string(hide_password=False)
    first = start_worker(url, "--no-schedule", "--batch-size", "1")
    deadline = time.monotonic() + 60
    while rows(target, Commit) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    interrupted = snapshot(target)

    second = start_worker(url, "--drain", "--batch-size", "7")
    _, errors = second.communicate(timeout=120)

    assert interrupted != expected, "the first worker finished before it was killed"
    assert second.returncode == 0, errors
    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, engine)
    assert rows(target, OutboxEvent) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigterm_finishes_the_batch_and_exits_cleanly(
    reference: tuple[Engine, Snapshot], target: Engine
) -> None:
    engine, expected = reference
    copy_bronze(engine, target, announce=True)
    url = target.url.render_as_string(hide_password=False)
    process = start_worker(url, "--no-schedule", "--batch-size", "1")
    deadline = time.monotonic() + 60
    while rows(target, Commit) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)

    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=30)

    assert process.returncode == 0, errors
    assert "worker stopped:" in errors
    again = start_worker(url, "--drain")
    again.communicate(timeout=120)
    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, engine)

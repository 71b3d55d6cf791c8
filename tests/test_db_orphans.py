"""A PostgreSQL statement of a Diogen process that died stops soon after, not at its end."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

from sqlalchemy import Engine, text

from diogen.db import CLIENT_CHECK_SECONDS, make_engine

CHILD = """
import sys
from sqlalchemy import text
from diogen.db import make_engine
with make_engine(sys.argv[1]).connect() as connection:
    connection.execute(text("SELECT pg_sleep(120)"))
"""
RUNNING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name AND state = 'active'"
)


def _running(engine: Engine, name: str) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(RUNNING, {"name": name}).scalar_one())


def test_the_statement_of_a_killed_process_is_stopped(postgres_url: str) -> None:
    name = f"diogen-orphan-{uuid.uuid4().hex[:8]}"
    watcher = make_engine(postgres_url)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, f"{postgres_url}&application_name={name}"]
    )
    try:
        started = time.monotonic()
        while not _running(watcher, name):
            assert child.poll() is None, "the child process ended before its statement ran"
            assert time.monotonic() - started < 60, "the child's statement never started"
            time.sleep(0.2)
    finally:
        child.kill()
        child.wait()
    killed = time.monotonic()
    while _running(watcher, name):
        # Checked every CLIENT_CHECK_SECONDS; without the check it would run for 120 s.
        assert time.monotonic() - killed < CLIENT_CHECK_SECONDS * 6, "the statement ran on"
        time.sleep(0.5)
    watcher.dispose()

"""Helpers of the pipeline tests: silver snapshots, copying bronze, draining a worker."""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from diogen.bus.base import Bus
from diogen.config import Settings
from diogen.db import session_scope
from diogen.ingest import outbox
from diogen.ingest.models import RawRecord, SyncCursor
from diogen.processing.locks import Locks
from diogen.processing.worker import Worker
from diogen.testing.silver_rows import Snapshot as Snapshot
from diogen.testing.silver_rows import snapshot as snapshot

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
# The CLI with the pipeline's commands registered (as diogen.cli will once they are wired in).
CLI = (
    "import sys; from diogen.cli import dlq, replay, status, worker; from diogen.cli import main; "
    "sys.argv[0] = 'diogen'; main()"
)


def copy_bronze(source: Engine, target: Engine, *, announce: bool) -> int:
    """Copy raw records and cursors; with `announce`, announce them as the outbox would for a
    sync that leaves normalising to processors (and its checkpoint after them)."""
    with session_scope(source) as session:
        raw = [
            dict(r._mapping)
            for r in session.execute(
                select(RawRecord.__table__).order_by(RawRecord.fetched_at, RawRecord.id)
            )
        ]
        cursors = [dict(r._mapping) for r in session.execute(select(SyncCursor.__table__))]
    with session_scope(target) as session:
        session.execute(insert(RawRecord.__table__), raw)
        session.execute(insert(SyncCursor.__table__), cursors)
        if announce:
            outbox.announce(session, raw, normalized=False)
            for source_name in sorted({c["source"] for c in cursors}):
                outbox.announce_checkpoint(
                    session, source_name, normalized=False, now=raw[-1]["fetched_at"]
                )
    return len(raw)


def drain(engine: Engine, settings: Settings, bus: Bus, locks: Locks, **options: Any) -> Worker:
    """A worker without schedule, run until everything published is processed."""
    worker = Worker(engine, settings, bus, locks, schedule=False, poll_seconds=0.2, **options)
    worker.drain()
    return worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A tansu broker with in-memory storage; `restart` loses what it held, as a crash would."""

    def __init__(self, binary: str, port: int) -> None:
        self.binary = binary
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                self.binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--silent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("tansu did not start listening")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

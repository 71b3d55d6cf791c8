"""Helpers of the pipeline tests: silver and gold snapshots, copying bronze, draining a worker."""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from diogen.bus import make_bus
from diogen.bus.base import Bus
from diogen.bus.kafka import KafkaBus
from diogen.config import Settings
from diogen.db import session_scope
from diogen.ingest import outbox
from diogen.ingest.models import RawRecord, SyncCursor
from diogen.processing.locks import Locks, make_locks
from diogen.processing.worker import Worker
from diogen.testing.gold_tables import Gold, gold_snapshot, stale_days
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


def undisturbed_gold(reference: Engine) -> tuple[Gold, set[tuple[str, datetime]]]:
    """The reference's gold, and the windows an undisturbed worker marks stale: a worker on
    the embedded log drains the events its inline syncs announced (they leave silver as it
    is, and mark the windows of their rows)."""
    settings = Settings()
    locks = make_locks(settings, reference)
    try:
        drain(reference, settings, make_bus(settings, reference), locks)
    finally:
        locks.close()
    return gold_snapshot(reference), stale_days(reference)


def assert_gold_as_undisturbed(target: Engine, reference: Engine) -> None:
    """`target`'s gold (tables and the reports it serves) and stale windows equal the
    reference's, and the pipeline left no gold to refresh: each batch refreshed what it wrote
    in its own transaction, even those cut short."""
    want, windows = undisturbed_gold(reference)
    got = gold_snapshot(target)
    assert got.pending == 0, f"{got.pending} gold log rows left stale"
    assert any(got.tables.values()), "no gold rows: the comparison proves nothing"
    assert got.tables == want.tables
    assert got.reports == want.reports
    assert stale_days(target) == windows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PARTITIONS = 4


def kafka_settings(broker: Broker) -> Settings:
    return Settings(
        bus="kafka", kafka_bootstrap_servers=broker.bootstrap, bus_partitions=PARTITIONS
    )


def bus_of(broker: Broker) -> KafkaBus:
    return KafkaBus(broker.bootstrap, partitions=PARTITIONS, retention_hours=24)


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

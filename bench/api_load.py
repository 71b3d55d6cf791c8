"""REST API load benchmark: 50 concurrent clients against `diogen serve` in a subprocess.

    .venv/bin/python bench/api_load.py [--commits 5000] [--clients 50] [--requests 20]
                                       [--workers 1] [--database URL]

A synthetic repository of --commits commits (with release tags) is generated under
bench/.work/, synced into a fresh SQLite database (or --database), and an instance
administrator with an API key is created. Then, for each route below, --clients clients each
send --requests requests at once, and the p50 / p99 latencies and the throughput are printed:

  * DORA report, cold cache: every request asks for a window no other request asked for;
  * DORA report, warm cache: every request asks for the same report;
  * data quality report (warm);
  * repositories list and one repository (CRUD reads, ETag computed on each);
  * team creation (a write: audit entry and data version bump included).

Nothing here asserts: it measures and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from diogen.accounts.api_keys import create_api_key
from diogen.accounts.users import create_user
from diogen.db import make_engine, session_scope
from diogen.migrations import upgrade
from diogen.silver import Organization
from diogen.testing.synthetic import generate_repository

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
SERVE = "import diogen.cli.accounts, diogen.cli.serve\nfrom diogen.cli import main\nmain()"
Request = Callable[[int, int], tuple[str, str, dict[str, object] | None]]


def prepare(commits: int, database: str) -> tuple[str, str]:
    """The synced database and an API key of an instance administrator."""
    repo = WORK / f"api-load-{commits}"
    if not repo.exists():
        WORK.mkdir(exist_ok=True)
        generate_repository(repo, commits=commits)
    sync = [sys.executable, "-c", SERVE, "sync", "git", str(repo), "--database", database]
    subprocess.run(sync, check=True, capture_output=True)
    engine = make_engine(database)
    upgrade(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        user = create_user(
            session, "bench@example.com", "a benchmark passphrase", now=now, superuser=True
        )
        session.add(Organization(id="bench-org", name="bench", source="bench"))
        _, key = create_api_key(
            session, user, name="bench", organization_id=None, role="admin", now=now
        )
    engine.dispose()
    return repo.name, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DIOGEN_RATE_LIMIT_PER_MINUTE": "1000000",
        "DIOGEN_IP_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    command = [
        sys.executable,
        "-c",
        SERVE,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--database",
        database,
    ]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start within 60 s")


async def load(base: str, key: str, clients: int, requests: int, make: Request) -> list[float]:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120
    ) as client:

        async def one_client(c: int) -> None:
            for r in range(requests):
                method, url, body = make(c, r)
                started = time.perf_counter()
                response = await client.request(method, url, json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    raise SystemExit(f"{method} {url}: {response.status_code} {response.text}")

        await asyncio.gather(*(one_client(c) for c in range(clients)))
    return latencies


def report(name: str, latencies: list[float], wall: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name:<34} p50 {statistics.median(ordered) * 1000:8.1f} ms   "
        f"p99 {p99 * 1000:8.1f} ms   {len(ordered) / wall:7.1f} req/s"
    )


def scenarios(repo: str, clients: int) -> dict[str, Request]:
    def cold(c: int, r: int) -> tuple[str, str, None]:
        # A distinct `from` per request: nothing is in the cache for it.
        day = 1 + (c * 1000 + r) % 3000
        start = (date(2015, 1, 1) + timedelta(days=day)).isoformat()
        return "GET", f"/api/v1/analytics/dora?repo={repo}&from={start}&to=2021-01-01", None

    return {
        "dora report, cold cache": cold,
        "dora report, warm cache": lambda c, r: (
            "GET",
            f"/api/v1/analytics/dora?repo={repo}&from=2015-01-01&to=2021-01-01",
            None,
        ),
        "data quality, warm cache": lambda c, r: (
            "GET",
            f"/api/v1/analytics/data-quality?repo={repo}",
            None,
        ),
        "list repositories": lambda c, r: ("GET", "/api/v1/repositories?limit=50", None),
        "create team (write)": lambda c, r: (
            "POST",
            "/api/v1/teams",
            {"organization_id": "bench-org", "name": f"t-{c}-{r}"},
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        repo, key = prepare(args.commits, database)
        port = free_port()
        server = start_server(database, port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            print(
                f"{args.clients} clients x {args.requests} requests, {args.workers} worker(s), "
                f"{args.commits} commits, {database.split(':')[0]}"
            )
            # Warm the caches the warm scenarios rely on, outside the measurement.
            for warm in ("dora report, warm cache", "data quality, warm cache"):
                asyncio.run(load(base, key, 1, 1, scenarios(repo, 1)[warm]))
            for name, make in scenarios(repo, args.clients).items():
                started = time.perf_counter()
                latencies = asyncio.run(load(base, key, args.clients, args.requests, make))
                report(name, latencies, time.perf_counter() - started)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

"""REST API load benchmark: 50 concurrent clients against `diogen serve` in a subprocess.

    .venv/bin/python bench/api_load.py [--commits 5000] [--clients 50] [--requests 20]
                                       [--workers 1] [--database URL]
    .venv/bin/python bench/api_load.py --org URL [--clients 50] [--requests 20] [--workers 2]

With --org URL, the database is one holding the synthetic organisation of
bench/org_metrics.py (`bench/org_metrics.py --postgres --keep --only 0` makes one), and the
requests are those of its dashboard: the organisation's DORA report over 90 days, a team's
DORA and team report, flow, the CRUD reads of repositories, teams and deployments, each warm,
and the organisation's report cold (a window no other request asked for), sent as
organisation viewer with an API key limited to the organisation. See `org_scenarios`.

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
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from diogen.accounts.api_keys import create_api_key
from diogen.accounts.models import User
from diogen.accounts.users import create_user, grant_role
from diogen.db import make_engine, session_scope
from diogen.migrations import upgrade
from diogen.silver import Commit, Deployment, Organization, PullRequest, Repository, Team
from diogen.testing.synthetic import generate_repository

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
SERVE = "import diogen.cli.accounts, diogen.cli.serve\nfrom diogen.cli import main\nmain()"
Request = Callable[[int, int], tuple[str, str, dict[str, object] | None]]
VIEWER = "api-load-viewer@example.com"
SERVER_LOG = WORK / "api-load-server.log"


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


def start_server(
    database: str, port: int, workers: int, redis: str | None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DIOGEN_RATE_LIMIT_PER_MINUTE": "1000000",
        "DIOGEN_IP_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    if redis:
        env["DIOGEN_REDIS_URL"] = redis
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
    WORK.mkdir(exist_ok=True)
    with SERVER_LOG.open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
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
    # Below the server's 5 s keep-alive: a connection the server is closing is never reused.
    limits = httpx.Limits(max_connections=clients, keepalive_expiry=2)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=900
    ) as client:

        async def one_client(c: int) -> None:
            for r in range(requests):
                method, url, body = make(c, r)
                started = time.perf_counter()
                try:
                    response = await client.request(method, url, json=body)
                except httpx.TransportError as exc:
                    raise SystemExit(f"{method} {url}: {exc!r} (server log: {SERVER_LOG})") from exc
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    raise SystemExit(f"{method} {url}: {response.status_code} {response.text}")

        await asyncio.gather(*(one_client(c) for c in range(clients)))
    return latencies


def report(name: str, latencies: list[float], wall: float, cpu: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name:<34} p50 {statistics.median(ordered) * 1000:8.1f} ms   "
        f"p99 {p99 * 1000:8.1f} ms   {len(ordered) / wall:7.1f} req/s   "
        f"server CPU {cpu / len(ordered) * 1000:6.1f} ms/req"
    )


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its descendants still running (Linux /proc): what
    the server spent, whatever else the machine was doing meanwhile."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        pending.extend(int(child) for child in children)
    return total


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


def measure(
    database: str, key: str, args: argparse.Namespace, plan: dict[str, tuple[Request, int]]
) -> None:
    """Serve `database`, warm every warm scenario once, then run each: (make, requests)."""
    port = free_port()
    server = start_server(database, port, args.workers, args.redis)
    try:
        base = f"http://127.0.0.1:{port}"
        # Warm the caches the warm scenarios rely on, outside the measurement.
        for name, (make, _) in plan.items():
            if "warm" in name:
                asyncio.run(load(base, key, 1, 1, make))
        for name, (make, requests) in plan.items():
            started, cpu = time.perf_counter(), tree_cpu_seconds(server.pid)
            latencies = asyncio.run(load(base, key, args.clients, requests, make))
            wall = time.perf_counter() - started
            report(name, latencies, wall, tree_cpu_seconds(server.pid) - cpu)
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass(frozen=True)
class Org:
    """The synthetic organisation's ids the requests name, and a viewer's key."""

    key: str
    organization: str
    team: str
    repository: str
    deployment: str
    end: date
    counts: dict[str, int]

    def describe(self) -> str:
        return ", ".join(f"{n:,} {table}" for table, n in self.counts.items())


def prepare_org(url: str) -> Org:
    """A viewer of the organisation with a key limited to it (made once, reused), and the ids."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        organization = session.scalars(select(Organization)).first()
        if organization is None:
            raise SystemExit(f"{url} holds no organisation: see bench/org_metrics.py --keep")
        user = session.scalar(select(User).where(User.email == VIEWER))
        if user is None:
            user = create_user(session, VIEWER, "a benchmark passphrase", now=now)
            grant_role(session, user.id, organization.id, "viewer", now=now)
        _, key = create_api_key(
            session, user, name="api-load", organization_id=organization.id, role="viewer", now=now
        )
        team = session.scalar(select(Team.id).where(Team.name == "payments"))
        repository = session.scalar(select(Repository.id).order_by(Repository.id))
        deployment = session.scalar(select(Deployment).order_by(Deployment.finished_at.desc()))
        counts = {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Repository, Commit, PullRequest, Deployment)
        }
        if team is None or repository is None or deployment is None:
            raise SystemExit(f"{url}: not the synthetic organisation (no team 'payments')")
        assert deployment.finished_at is not None
        found = Org(
            key=key,
            organization=organization.id,
            team=team,
            repository=repository,
            deployment=deployment.id,
            end=deployment.finished_at.date(),
            counts=counts,
        )
    engine.dispose()
    return found


def org_scenarios(org: Org) -> dict[str, Request]:
    """What the dashboard's pages ask, each the same every time: served from the cache."""
    window = f"from={org.end - timedelta(days=90)}&to={org.end}"
    year = f"from={org.end - timedelta(days=365)}&to={org.end}&bucket=week"
    reads = {
        "org dora 90 days, warm cache": f"/api/v1/analytics/dora?{window}",
        "team dora weekly year, warm cache": f"/api/v1/analytics/dora/{org.team}?{year}",
        "team report, warm cache": f"/api/v1/analytics/team/{org.team}?{window}",
        "org flow 90 days, warm cache": f"/api/v1/analytics/flow?{window}",
        "crud: list repositories": "/api/v1/repositories?limit=50",
        "crud: one repository": f"/api/v1/repositories/{org.repository}",
        "crud: list teams": "/api/v1/teams?limit=50",
        "crud: list deployments": "/api/v1/deployments?limit=50&sort=-finished_at",
        "crud: one deployment": f"/api/v1/deployments/{org.deployment}",
    }
    return {name: _get(url) for name, url in reads.items()}


def org_cold(org: Org) -> Request:
    def cold(c: int, r: int) -> tuple[str, str, None]:
        # A distinct window per request: nothing is in the cache for it.
        end = org.end - timedelta(days=1 + c * 50 + r)
        return "GET", f"/api/v1/analytics/dora?from={end - timedelta(days=90)}&to={end}", None

    return cold


def _get(url: str) -> Request:
    return lambda c, r: ("GET", url, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database")
    parser.add_argument("--org", metavar="URL", help="a database holding the synthetic org")
    parser.add_argument(
        "--redis", metavar="URL", help="the server's cache and rate limits in Redis (shared)"
    )
    parser.add_argument(
        "--cold-requests", type=int, default=1, help="--org: cold reports per client"
    )
    args = parser.parse_args()
    load_average = os.getloadavg()[0]
    if args.org:
        org = prepare_org(args.org)
        print(
            f"{args.clients} clients x {args.requests} requests, {args.workers} worker(s), "
            f"synthetic organisation ({org.describe()}), {args.org.split(':')[0]}, "
            f"load average {load_average:.1f}"
        )
        plan = {name: (make, args.requests) for name, make in org_scenarios(org).items()}
        if args.cold_requests:
            plan["org dora 90 days, cold cache"] = (org_cold(org), args.cold_requests)
        measure(args.org, org.key, args, plan)
        return
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        repo, key = prepare(args.commits, database)
        print(
            f"{args.clients} clients x {args.requests} requests, {args.workers} worker(s), "
            f"{args.commits} commits, {database.split(':')[0]}, load average {load_average:.1f}"
        )
        measure(
            database,
            key,
            args,
            {name: (make, args.requests) for name, make in scenarios(repo, args.clients).items()},
        )


if __name__ == "__main__":
    main()

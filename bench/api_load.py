"""REST API load benchmark: 50 concurrent clients against `diogen serve` in a subprocess.

    .venv/bin/python bench/api_load.py [--commits 5000] [--clients 50] [--requests 20]
                                       [--workers 1] [--database URL]
    .venv/bin/python bench/api_load.py --org URL [--clients 50] [--seconds 10] [--workers 2]
                                       [--client wrk|python] [--redis URL]

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

A scenario that asks one URL again and again is sent by `wrk` for --seconds when wrk is
installed (`apt-get install wrk`), else (or with --client python) by --clients asyncio
clients of --requests requests each; see bench/api_load_clients.py. Each line prints the p50
and p99 latency, the throughput, and the CPU time per request of the server (its process
tree), of its PostgreSQL backends and of the client, with the load average.

Nothing here asserts: it measures and prints.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from api_load_clients import (
    Outcome,
    Request,
    backends,
    connections_by_process,
    cpu_seconds,
    have_wrk,
    process_tree,
    python_load,
    spent,
    wrk_load,
)
from redis import Redis
from server_metrics import metric
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from diogen.accounts.api_keys import create_api_key
from diogen.accounts.models import User
from diogen.accounts.users import create_user, grant_role
from diogen.api.cache import REDIS_PREFIX
from diogen.db import make_engine, session_scope
from diogen.migrations import upgrade
from diogen.silver import Commit, Deployment, Organization, PullRequest, Repository, Team
from diogen.testing.synthetic import generate_repository

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
SERVE = "import diogen.cli.accounts, diogen.cli.serve\nfrom diogen.cli import main\nmain()"
# The server's PostgreSQL connections carry this name, to find their backends' CPU time.
APPLICATION_NAME = "diogen-api-load"
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


@dataclass(frozen=True)
class Scenario:
    """Requests made by `make`, `requests` per client; `path`: the one URL it always asks."""

    make: Request
    requests: int
    path: str | None = None


def fixed(path: str, requests: int) -> Scenario:
    return Scenario(lambda c, r: ("GET", path, None), requests, path)


def scenarios(repo: str, requests: int) -> dict[str, Scenario]:
    def cold(c: int, r: int) -> tuple[str, str, None]:
        # A distinct `from` per request: nothing is in the cache for it.
        day = 1 + (c * 1000 + r) % 3000
        start = (date(2015, 1, 1) + timedelta(days=day)).isoformat()
        return "GET", f"/api/v1/analytics/dora?repo={repo}&from={start}&to=2021-01-01", None

    def create(c: int, r: int) -> tuple[str, str, dict[str, object]]:
        return "POST", "/api/v1/teams", {"organization_id": "bench-org", "name": f"t-{c}-{r}"}

    dora = f"/api/v1/analytics/dora?repo={repo}&from=2015-01-01&to=2021-01-01"
    return {
        "dora report, cold cache": Scenario(cold, requests),
        "dora report, warm cache": fixed(dora, requests),
        "data quality, warm cache": fixed(f"/api/v1/analytics/data-quality?repo={repo}", requests),
        "list repositories": fixed("/api/v1/repositories?limit=50", requests),
        "create team (write)": Scenario(create, requests),
    }


def measure(database: str, key: str, args: argparse.Namespace, plan: dict[str, Scenario]) -> None:
    """Serve `database`, warm every warm scenario once, then run each."""
    port = free_port()
    server = start_server(_named(database), port, args.workers, args.redis)
    admin = make_engine(database) if database.startswith("postgresql") else None
    try:
        base = f"http://127.0.0.1:{port}"
        # Warm the caches the warm scenarios rely on, outside the measurement.
        for name, scenario in plan.items():
            if "warm" in name:
                python_load(base, key, 1, 1, scenario.make)
        wait_for_warmer(base, args.workers)
        rounds: dict[str, list[Measured]] = {}
        for number in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"round {number} of {args.rounds}", flush=True)
            for name, scenario in plan.items():
                if "cold" in name:
                    if number > 1:
                        continue  # its reports are cached now
                    forget_reports(args.redis)
                measured = _measure(server, port, admin, base, key, args, scenario)
                report(name, measured)
                rounds.setdefault(name, []).append(measured)
        if args.rounds > 1:
            print(f"medians of {args.rounds} rounds (cold: one)", flush=True)
            for name, results in rounds.items():
                report_medians(name, results)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for pid in process_tree(server.pid):  # its workers too
                os.kill(pid, signal.SIGKILL)
            server.wait()
        if admin is not None:
            admin.dispose()


@dataclass(frozen=True)
class Measured:
    outcome: Outcome
    server_cpu: float
    database_cpu: float
    spread: list[int]  # connections held by each worker halfway through (empty: not sampled)


def _measure(
    server: subprocess.Popen[bytes],
    port: int,
    admin: Engine | None,
    base: str,
    key: str,
    args: argparse.Namespace,
    scenario: Scenario,
) -> Measured:
    server_before = cpu_seconds(process_tree(server.pid))
    database_before = cpu_seconds(backends(admin, APPLICATION_NAME))
    # Halfway through, how the clients' connections are spread over the workers.
    sampler, spread = _sample_spread(server.pid, port, args.seconds / 2)
    outcome = _run(base, key, args, scenario)
    sampler.cancel()
    server_cpu = spent(server_before, cpu_seconds(process_tree(server.pid)))
    database_cpu = spent(database_before, cpu_seconds(backends(admin, APPLICATION_NAME)))
    return Measured(outcome, server_cpu, database_cpu, spread[0] if spread else [])


def forget_reports(redis: str | None) -> None:
    """Empties the report cache in Redis (where it outlives the server), so that a cold
    scenario finds none of its reports computed by an earlier run."""
    if redis is None:
        return
    client = Redis.from_url(redis)
    names = list(client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000))
    if names:
        client.delete(*names)
    client.close()


def wait_for_warmer(base: str, workers: int) -> None:
    """Until each worker's report warmer finished its start-up pass: measured meanwhile, a
    warm answer shares the CPU with the reports computed ahead (seconds of it)."""
    started = time.monotonic()
    while time.monotonic() - started < 600:
        passes = metric(base, "diogen_report_warm_passes_total")
        if passes is None:
            return  # no warmer (DIOGEN_WARM_REPORTS=false)
        if passes >= workers:
            print(f"report warmer's start-up pass: {time.monotonic() - started:.0f} s", flush=True)
            return
        time.sleep(0.5)
    raise SystemExit("the report warmer did not finish a pass within 10 minutes")


def _sample_spread(pid: int, port: int, after: float) -> tuple[threading.Timer, list[list[int]]]:
    """The connections to `port` that each process of `pid`'s tree holds, counted once,
    `after` seconds from now (in the list returned)."""
    found: list[list[int]] = []
    timer = threading.Timer(
        after, lambda: found.append(connections_by_process(process_tree(pid), port))
    )
    timer.start()
    return timer, found


def _run(base: str, key: str, args: argparse.Namespace, scenario: Scenario) -> Outcome:
    if scenario.path is not None and args.client == "wrk":
        return wrk_load(base, key, args.clients, args.seconds, scenario.path)
    return python_load(base, key, args.clients, scenario.requests, scenario.make)


def _named(database: str) -> str:
    """`database` with the application name the server's PostgreSQL connections report."""
    url = make_url(database)
    if url.get_backend_name() != "postgresql":
        return database
    return url.update_query_dict({"application_name": APPLICATION_NAME}).render_as_string(
        hide_password=False
    )


def report(name: str, measured: Measured) -> None:
    if measured.outcome.requests == 0:
        print(f"{name:<34} no answer within the run (load {os.getloadavg()[0]:.1f})", flush=True)
        return
    _line(name, _figures(measured), f"load {os.getloadavg()[0]:.1f}")
    if len(measured.spread) > 1:
        print(f"{'':<34} connections by worker: {'/'.join(map(str, measured.spread))}")


def report_medians(name: str, results: list[Measured]) -> None:
    answered = [m for m in results if m.outcome.requests]
    if not answered:
        return
    columns = zip(*(_figures(m) for m in answered), strict=True)
    medians = [statistics.median(column) for column in columns]
    p99s = ", ".join(f"{m.outcome.p99 * 1000:.0f}" for m in answered)
    _line(name, medians, f"p99 of each round: {p99s} ms")


def _figures(measured: Measured) -> list[float]:
    """p50, p99, requests/s, and CPU seconds per request of the server, database and client."""
    outcome, n = measured.outcome, measured.outcome.requests
    cpu = (measured.server_cpu, measured.database_cpu, outcome.client_cpu)
    return [outcome.p50, outcome.p99, n / outcome.wall, *(c / n for c in cpu)]


def _line(name: str, figures: list[float], note: str) -> None:
    p50, p99, rate, server, database, client = figures
    print(
        f"{name:<34} p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  {rate:7.1f} req/s  "
        f"CPU/request: server {server * 1000:5.2f} ms, database {database * 1000:5.2f} ms, "
        f"client {client * 1000:5.2f} ms  ({note})",
        flush=True,
    )


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


def org_scenarios(org: Org, requests: int) -> dict[str, Scenario]:
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
    return {name: fixed(url, requests) for name, url in reads.items()}


def org_cold(org: Org, requests: int) -> Scenario:
    def cold(c: int, r: int) -> tuple[str, str, None]:
        # A distinct window per request: nothing is in the cache for it.
        end = org.end - timedelta(days=1 + c * 50 + r)
        return "GET", f"/api/v1/analytics/dora?from={end - timedelta(days=90)}&to={end}", None

    return Scenario(cold, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="per client (Python client)")
    parser.add_argument("--seconds", type=float, default=10, help="per scenario (wrk)")
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        default="wrk" if have_wrk() else "python",
        help="what sends the requests of one-URL scenarios (default: wrk when installed)",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every warm scenario this many times, then print the medians",
    )
    parser.add_argument("--database")
    parser.add_argument("--org", metavar="URL", help="a database holding the synthetic org")
    parser.add_argument(
        "--redis", metavar="URL", help="the server's cache and rate limits in Redis (shared)"
    )
    parser.add_argument(
        "--cold-requests", type=int, default=1, help="--org: cold reports per client"
    )
    parser.add_argument(
        "--only",
        metavar="WORDS",
        help="run only the scenarios whose name contains one of these comma-separated words",
    )
    args = parser.parse_args()
    if args.client == "wrk" and not have_wrk():
        raise SystemExit("wrk is not installed (apt-get install wrk); or use --client python")
    load = f"{args.clients} clients, {args.workers} worker(s), client {_client(args)}"
    if args.org:
        org = prepare_org(args.org)
        print(f"{load}, synthetic organisation ({org.describe()}), {_engine(args.org)}")
        plan = org_scenarios(org, args.requests)
        if args.cold_requests:
            plan["org dora 90 days, cold cache"] = org_cold(org, args.cold_requests)
        measure(args.org, org.key, args, chosen(plan, args.only))
        return
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        repo, key = prepare(args.commits, database)
        print(f"{load}, {args.commits} commits, {_engine(database)}")
        measure(database, key, args, chosen(scenarios(repo, args.requests), args.only))


def chosen(plan: dict[str, Scenario], only: str | None) -> dict[str, Scenario]:
    if only is None:
        return plan
    words = only.split(",")
    return {name: s for name, s in plan.items() if any(word in name for word in words)}


def _client(args: argparse.Namespace) -> str:
    python = f"Python ({args.requests} requests each)"
    return (
        f"wrk ({args.seconds:g} s; {python} where a scenario varies)"
        if args.client == "wrk"
        else python
    )


def _engine(database: str) -> str:
    return database.split(":")[0].split("+")[0]


if __name__ == "__main__":
    main()

"""Time to interactive of every dashboard page over a large organisation, in headless Chromium.

Issue 8's target: every page interactive in under 1 s with the synthetic organisation of
`org_metrics.py` in PostgreSQL. Starts `diogen serve` on the database, creates an instance
administrator, signs in, then opens each page by its link (the organisation's last 90 days)
and prints the seconds until the page says it is ready (`main[data-state=ready]`, what the
browser tests wait for; `>60` for a page not ready after a minute) with the load average:

1. the report warmer off: each page cold (the server's report cache empty, nothing computed
   ahead), then `--runs` times warm;
2. the warmer on, after forgetting what earlier runs asked: each page visited once, which is
   how the warmer learns what to compute (not shown: these visits are cold), then a restart;
3. after that restart, once the warmer's start-up pass finished: each page once;
4. after new data (one deployment pushed through `POST /api/v1/ingest/bench`, which moves the
   data version on), once the warmer's pass for it finished: each page once;
5. a fresh install: nothing asked before, the server's and the browser's clocks moved to the
   data's last day (`serve_at.py`), once the warmer's start-up pass finished: each page once
   by its link without dates, i.e. the default view a new user sees first.

    .venv/bin/python bench/org_metrics.py --postgres --keep --only 0     # generate once
    .venv/bin/python bench/dashboard_pages.py \\
        --database 'postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench_org_s1_seed0'
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright
from server_metrics import metric
from sqlalchemy import create_engine, text

from diogen.api.demand import DEMAND_STATE

BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
EMAIL = "bench-admin@example.com"
PASSWORD = "bench-password-0123"
TARGET_SECONDS = 1.0
LIMIT_SECONDS = 60  # a page not ready by then is shown as '>60'
# The synthetic organisation's history ends on 2025-01-06: its last 90 days.
WINDOW = {"from": "2024-10-08", "to": "2025-01-06"}
# Whose default view (the 90 days ending tomorrow) is that window.
DATA_END = datetime(2025, 1, 5, 12, tzinfo=UTC)
LATEST_DEPLOYMENT = """
    SELECT r.name, d.sha FROM deployment d JOIN repository r ON r.id = d.repository_id
    WHERE d.environment = 'production' AND d.finished_at IS NOT NULL
    ORDER BY d.finished_at DESC LIMIT 1"""
PAGES = {
    "overview": {},
    "team": {"team": "payments"},
    "repos": {},
    "deployments": {},
    "incidents": {},
    "pulls": {},
    "quality": {},
    "sources": {},
    "admin": {"team": "payments"},
}


def main() -> None:
    args = parse_args()
    create_admin(args.database)
    forget_demand(args.database)
    with serving(args.database, warm=False) as (url, _):
        timings = measure(url, args.pages, args.runs)
    with serving(args.database, warm=True) as (url, _):
        wait_for_pass(url, 0)
        measure(url, args.pages, 0)
    with serving(args.database, warm=True) as (url, pid):
        restart = timed_pass(url, pid, 0)
        after_restart = measure(url, args.pages, 0)
        push_deployment(url, args.database)
        change = timed_pass(url, pid, restart.passes)
        after_change = measure(url, args.pages, 0)
    forget_demand(args.database)
    with serving(args.database, warm=True, at=DATA_END) as (url, pid):
        fresh = timed_pass(url, pid, 0)
        first_visits = measure(url, args.pages, 0, at=DATA_END)
    report(timings, args.runs)
    report_warmed(after_restart, after_change, restart, change)
    report_fresh(first_visits, fresh)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="database URL with the organisation")
    parser.add_argument("--runs", type=int, default=3, help="warm visits per page (median)")
    parser.add_argument(
        "--pages",
        type=lambda text: text.split(","),
        default=list(PAGES),
        help=f"comma-separated pages (default: {','.join(PAGES)})",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if unknown := set(args.pages) - set(PAGES):
        parser.error(f"unknown pages: {', '.join(sorted(unknown))}")
    if not Path(CHROMIUM).exists():
        parser.error(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return args


def create_admin(database: str) -> None:
    """An instance administrator to sign in as; one made by an earlier run is kept."""
    done = subprocess.run(
        [
            BIN / "diogen",
            "users",
            "create-admin",
            "--email",
            EMAIL,
            "--password-stdin",
            "--database",
            database,
        ],
        input=PASSWORD,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 and "exists" not in done.stderr:
        raise SystemExit(f"error: creating the administrator: {done.stderr.strip()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def forget_demand(database: str) -> None:
    """What earlier runs asked for is forgotten: this run's warmer learns from its own visits."""
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM app_state WHERE name = :name"), {"name": DEMAND_STATE})
    engine.dispose()


@contextmanager
def serving(database: str, *, warm: bool, at: datetime | None = None) -> Iterator[tuple[str, int]]:
    """`diogen serve` on a free port (with its clock moved to `at`: `serve_at.py`); stopped as
    an operator would (SIGTERM), which lets the warmer save what was asked."""
    port = free_port()
    server = start_server(database, port, warm, at)
    try:
        yield f"http://127.0.0.1:{port}", server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


def start_server(
    database: str, port: int, warm: bool, at: datetime | None
) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DIOGEN_DATABASE_URL": database,
        "DIOGEN_WARM_REPORTS": "true" if warm else "false",
    }
    command = [str(BIN / "diogen"), "serve", "--port", str(port)]
    if at is not None:
        command = [sys.executable, str(Path(__file__).with_name("serve_at.py")), str(port)]
        command.append(at.isoformat())
    server = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("error: diogen serve exited before it was ready") from None
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("error: diogen serve was not ready within 120 s")


@dataclass
class Pass:
    passes: float  # the warmer's passes when it ended
    warmed: float  # reports computed ahead since the server started
    seconds: float  # from the start of the wait to the end of the pass
    cpu: float  # CPU seconds of the server and its children meanwhile


def cpu_seconds(pid: int) -> float:
    """Of the server and its children (the warmer's process), PostgreSQL's not counted."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def timed_pass(url: str, pid: int, passes: float) -> Pass:
    started, cpu = time.monotonic(), cpu_seconds(pid)
    done, warmed = wait_for_pass(url, passes)
    return Pass(done, warmed, time.monotonic() - started, cpu_seconds(pid) - cpu)


def wait_for_pass(url: str, passes: float) -> tuple[float, float]:
    """Until the warmer finished a pass after its `passes`-th: its passes and reports warmed."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        done = metric(url, "diogen_report_warm_passes_total") or 0.0
        if done > passes:
            return done, metric(url, "diogen_reports_warmed_total") or 0.0
        time.sleep(0.2)
    raise SystemExit("error: the report warmer did not finish a pass within 10 minutes")


def push_deployment(url: str, database: str) -> None:
    """New data as a deploy pipeline would push it: one deployment of the latest deployed
    commit, just before the window's end."""
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        repository, sha = connection.execute(text(LATEST_DEPLOYMENT)).one()
    engine.dispose()
    token = post(f"{url}/api/v1/auth/token", {"email": EMAIL, "password": PASSWORD})
    event = {
        "type": "deployment",
        "id": f"bench-warm-{time.time_ns()}",
        "repository": repository,
        "sha": sha,
        "environment": "production",
        "finished_at": "2025-01-05T12:00:00Z",
    }
    post(f"{url}/api/v1/ingest/bench", {"events": [event]}, token["access_token"])


def post(url: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def measure(
    url: str, pages: list[str], runs: int, at: datetime | None = None
) -> dict[str, list[float]]:
    """Per page: the first visit, then `runs` more; over `WINDOW`, or with the browser's clock
    at `at`, over the page's default window."""
    timings: dict[str, list[float]] = {name: [] for name in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        if at is not None:
            page.clock.set_fixed_time(at)
        sign_in(page, url)
        for _ in range(runs + 1):
            for name in pages:
                filters = PAGES[name] if at else {**WINDOW, **PAGES[name]}
                timings[name].append(visit(page, url, name, filters))
        browser.close()
    return timings


def sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("#nav a", state="attached", timeout=60_000)


def visit(page: Any, url: str, name: str, filters: dict[str, str]) -> float:
    # A blank page between visits, so each one loads the page as a link would.
    page.goto("about:blank")
    started = time.monotonic()
    page.goto(f"{url}/#/{name}?{urlencode(filters)}")
    try:
        page.wait_for_selector("main[data-state=ready]", timeout=LIMIT_SECONDS * 1000)
    except PlaywrightTimeout:
        return math.inf
    return time.monotonic() - started


def report(timings: dict[str, list[float]], runs: int) -> None:
    load = os.getloadavg()[0]
    print(f"time to interactive, seconds (target {TARGET_SECONDS:g} s; load average {load:.1f})")
    print(f"{'page':<12} {'cold':>7} {'warm median':>12} {'warm min-max':>14}")
    for name, seconds in timings.items():
        warm = seconds[1:]
        spread = f"{shown(min(warm))}-{shown(max(warm))}"
        print(
            f"{name:<12} {shown(seconds[0]):>7} {shown(statistics.median(warm)):>12} {spread:>14}"
        )
    slow = [name for name, s in timings.items() if statistics.median(s[1:]) >= TARGET_SECONDS]
    print(f"warm pages at or over the target: {', '.join(slow) or 'none'} ({runs} warm runs)")


def report_warmed(
    after_restart: dict[str, list[float]],
    after_change: dict[str, list[float]],
    restart: Pass,
    change: Pass,
) -> None:
    for label, done, computed in (
        ("start-up pass", restart, restart.warmed),
        ("pass after new data", change, change.warmed - restart.warmed),
    ):
        print(
            f"warmer, {label}: {done.seconds:.1f} s, {computed:g} reports computed, "
            f"{done.cpu:.1f} s of the server's CPU"
        )
    print(f"{'page':<12} {'after restart':>14} {'after new data':>15}")
    for name, seconds in after_restart.items():
        print(f"{name:<12} {shown(seconds[0]):>14} {shown(after_change[name][0]):>15}")


def report_fresh(first_visits: dict[str, list[float]], fresh: Pass) -> None:
    print(
        f"fresh install, the warmer's start-up pass: {fresh.seconds:.1f} s, "
        f"{fresh.warmed:g} reports computed, {fresh.cpu:.1f} s of the server's CPU"
    )
    print(f"{'page':<12} {'first visit, default view':>26}")
    for name, seconds in first_visits.items():
        print(f"{name:<12} {shown(seconds[0]):>26}")


def shown(seconds: float) -> str:
    return f">{LIMIT_SECONDS}" if math.isinf(seconds) else f"{seconds:.2f}"


if __name__ == "__main__":
    main()

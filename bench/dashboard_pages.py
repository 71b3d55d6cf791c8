"""Time to interactive of every dashboard page over a large organisation, in headless Chromium.

Issue 8's target: every page interactive in under 1 s with the synthetic organisation of
`org_metrics.py` in PostgreSQL. Starts `diogen serve` on the database, creates an instance
administrator, signs in, then opens each page by its link (the organisation's last 90 days),
first cold (the server's report cache empty, as after a restart), then `--runs` times warm,
and prints the seconds until the page says it is ready (`main[data-state=ready]`, what the
browser tests wait for; `>60` for a page not ready after a minute) with the load average.

    .venv/bin/python bench/org_metrics.py --postgres --keep --only 0     # generate once
    .venv/bin/python bench/dashboard_pages.py \\
        --database 'postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench_org_s1_seed0'
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
EMAIL = "bench-admin@example.com"
PASSWORD = "bench-password-0123"
TARGET_SECONDS = 1.0
LIMIT_SECONDS = 60  # a page not ready by then is shown as '>60'
# The synthetic organisation's history ends on 2025-01-06: its last 90 days.
WINDOW = {"from": "2024-10-08", "to": "2025-01-06"}
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
    port = free_port()
    server = start_server(args.database, port)
    try:
        timings = measure(f"http://127.0.0.1:{port}", args.pages, args.runs)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    report(timings, args.runs)


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


def start_server(database: str, port: int) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "DIOGEN_DATABASE_URL": database}
    server = subprocess.Popen(
        [BIN / "diogen", "serve", "--port", str(port)],
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


def measure(url: str, pages: list[str], runs: int) -> dict[str, list[float]]:
    """Per page: the cold visit first, then the warm ones."""
    timings: dict[str, list[float]] = {name: [] for name in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        sign_in(page, url)
        for _ in range(runs + 1):
            for name in pages:
                timings[name].append(visit(page, url, name, PAGES[name]))
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
    page.goto(f"{url}/#/{name}?{urlencode({**WINDOW, **filters})}")
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


def shown(seconds: float) -> str:
    return f">{LIMIT_SECONDS}" if math.isinf(seconds) else f"{seconds:.2f}"


if __name__ == "__main__":
    main()

"""The report warmer: what was asked is computed ahead, byte for byte what a request would
compute, again after each data change and after a restart, once across workers sharing Redis,
and not at all when turned off; computed in a child process, the same bytes, and a child that
died is replaced."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import NOW, World, clean_redis, make_world, redis_url, seed, settings_for
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from diogen.api import create_app, reports
from diogen.api.cache import MemoryCache
from diogen.api.demand import Demand, resolved, rolling
from diogen.api.recipes import dora_key, flow_key
from diogen.api.state import ApiState
from diogen.api.warm_process import ChildComputer, InProcessComputer
from diogen.api.warmer import EVIDENCE_PAGES, Warmer
from diogen.metrics import Scope, make_window
from diogen.metrics.window import Window, default_window
from diogen.silver import Team

V = "/api/v1"
WINDOW = "from=2024-01-01&to=2024-03-02"
WARM_DB = 12  # a Redis database of its own (see test_operations)


def warmer_of(state: ApiState) -> Warmer:
    """A warmer driven by the test (`step`), not by its thread."""
    state.demand = Demand(state.clock, 100)
    return Warmer(state)


@pytest.fixture
def warm(world: World) -> Warmer:
    return warmer_of(world.state)


@pytest.fixture
def rows(world: World) -> Any:
    with world.session() as session:
        return seed(session, world.org_ids["alpha"])


def asked(rows: Any) -> list[str]:
    """A page of every kind: DORA with its trend, evidence part and a team's, team, flow,
    pull requests, review load, sprints and data quality."""
    return [
        f"{V}/analytics/dora?{WINDOW}&bucket=week",
        f"{V}/analytics/dora?{WINDOW}&evidence=deployments",
        f"{V}/analytics/dora?{WINDOW}&explain=true",
        f"{V}/analytics/dora/{rows.team}?{WINDOW}",
        f"{V}/analytics/team/{rows.team}?{WINDOW}",
        f"{V}/analytics/flow?{WINDOW}",
        f"{V}/analytics/pull-requests?{WINDOW}",
        f"{V}/analytics/review-load?{WINDOW}",
        f"{V}/analytics/sprints?team_id={rows.team}&{WINDOW}",
        f"{V}/analytics/data-quality",
    ]


def ask(
    world: World, urls: list[str], client: TestClient | None = None, who: str = "alpha:viewer"
) -> list[Any]:
    answers = [(client or world.client).get(url, headers=world.headers(who)) for url in urls]
    assert [a.status_code for a in answers] == [200] * len(urls), [a.text for a in answers]
    return answers


def change_data(world: World) -> None:
    """An API write: the data version moves on, every cached entry is out of date."""
    made = world.client.post(
        f"{V}/teams",
        json={"organization_id": world.org_ids["alpha"], "name": f"new-{id(world)}-{NOW}"},
        headers=world.headers("alpha:maintainer"),
    )
    assert made.status_code == 201, made.text


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The keys of the reports computed from now on (each in JSON)."""
    calls: list[str] = []
    lock = threading.Lock()
    compute = reports.compute

    def counting(session: Session, key: dict[str, Any], now: Any) -> dict[str, Any]:
        with lock:
            calls.append(json.dumps(key, sort_keys=True))
        return compute(session, key, now)

    monkeypatch.setattr(reports, "compute", counting)
    yield calls


def test_warmed_entries_are_what_requests_compute(
    world: World, warm: Warmer, rows: Any, computed: list[str]
) -> None:
    urls = asked(rows)
    ask(world, urls)
    change_data(world)
    assert warm.step() >= len(urls)
    computed.clear()
    warmed = ask(world, urls)
    assert computed == []  # every page found its answer computed
    world.state.cache = MemoryCache()
    cold = ask(world, urls)
    assert computed  # computed by the requests this time
    assert [a.content for a in cold] == [a.content for a in warmed]
    assert [a.headers["etag"] for a in cold] == [a.headers["etag"] for a in warmed]


def test_a_data_change_warms_again_and_no_change_warms_nothing(
    world: World, warm: Warmer, rows: Any, computed: list[str]
) -> None:
    urls = asked(rows)[:2]
    ask(world, urls)
    warm.step()
    assert warm.step() == 0
    change_data(world)
    computed.clear()
    assert warm.step() >= 2
    # The whole report once, its evidence part cut from it: each report computed once.
    assert len(computed) == len(set(computed))
    computed.clear()
    ask(world, urls)
    assert computed == []


def test_a_restart_warms_what_was_asked_before(
    world: World, warm: Warmer, rows: Any, computed: list[str]
) -> None:
    urls = asked(rows)[3:5]
    ask(world, urls)
    warm.stop()  # as at shutdown: what was asked is saved
    app = create_app(settings_for(str(world.engine.url)), clock=lambda: NOW)
    with TestClient(app) as client:
        restarted = warmer_of(app.state.diogen)
        assert restarted.step() >= len(urls)
        computed.clear()
        ask(world, urls, client)
        assert computed == []


def test_every_pages_default_view_is_warmed_before_anyone_asks(
    world: World, warm: Warmer, rows: Any, computed: list[str]
) -> None:
    """What each dashboard page asks over its default window (web/static/js/pages), with the
    parameters it sends: the overview, the data quality, the deployments, incidents and pull
    requests pages, and a team's page."""
    window = default_window(NOW)
    previous = Window(window.start - (window.end - window.start), window.start)
    days, before = (
        f"from={w.start.date().isoformat()}&to={w.end.date().isoformat()}"
        for w in (window, previous)
    )
    with world.session() as session:
        team = session.get_one(Team, rows.team).name
    org, scope = "org=alpha", f"org=alpha&team={team}"
    urls = [
        f"{V}/analytics/dora?{org}&{days}&bucket=week",
        f"{V}/analytics/dora?{org}&{before}",
        f"{V}/analytics/dora/{rows.team}?{days}",
        f"{V}/analytics/data-quality?{org}",
        *(f"{V}/analytics/dora?{org}&{days}&evidence={part}" for part in EVIDENCE_PAGES),
        f"{V}/analytics/dora?{scope}&{days}&bucket=week",
        f"{V}/analytics/dora?{scope}&{before}",
        f"{V}/analytics/flow?{scope}&{days}&bucket=week",
        f"{V}/analytics/review-load?{scope}&{days}",
        f"{V}/analytics/sprints?team_id={rows.team}&{days}",
    ]
    # An instance administrator naming no organisation sees every organisation's figures.
    everywhere = [
        f"{V}/analytics/dora?{days}&bucket=week",
        f"{V}/analytics/dora?{before}",
        f"{V}/analytics/data-quality",
        *(f"{V}/analytics/dora?{days}&evidence={part}" for part in EVIDENCE_PAGES),
    ]
    warm.step()
    computed.clear()
    ask(world, urls)
    ask(world, everywhere, who="root")
    assert computed == []


def test_a_window_ending_today_rolls_with_the_days() -> None:
    today = default_window(NOW)
    previous = Window(today.start - (today.end - today.start), today.start)
    fixed = Window(datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 2, 1, tzinfo=UTC))
    later = NOW + timedelta(days=3)
    kept = [
        resolved(rolling({"report": "dora", "window": w.to_json()}, NOW), later)["window"]
        for w in (today, previous, fixed)
    ]
    shifted = default_window(later)
    assert kept[0] == shifted.to_json()
    assert kept[1] == Window(shifted.start - (shifted.end - shifted.start), shifted.start).to_json()
    assert kept[2] == fixed.to_json()


def test_turned_off_nothing_is_remembered_or_warmed(database_url: str) -> None:
    made = make_world(database_url, warm=True, warm_reports=False)
    try:
        # Without a cache there is nothing to warm either.
        uncached = create_app(settings_for(database_url, analytics_cache_seconds=0), warm=True)
        with TestClient(uncached):
            for app in (made.client.app, uncached):
                assert app.state.warmer is None  # type: ignore[attr-defined]
                assert app.state.diogen.demand is None  # type: ignore[attr-defined]
            assert "report-warmer" not in [t.name for t in threading.enumerate()]
    finally:
        made.close()


def test_serve_warms_at_start_up(sqlite_url: str) -> None:
    made = make_world(sqlite_url, warm=True)
    try:
        deadline = threading.Event()
        for _ in range(200):
            if "diogen_report_warm_passes_total 1.0" in made.client.get("/metrics").text:
                break
            deadline.wait(0.05)
        assert "diogen_report_warm_passes_total 1.0" in made.client.get("/metrics").text
        # Built at start, not by the first visitor (the dashboard's team page reads it).
        assert made.client.app.openapi_schema is not None  # type: ignore[attr-defined]
    finally:
        made.close()


@pytest.fixture
def shared_redis(request: pytest.FixtureRequest) -> Iterator[str]:
    with clean_redis(request.config, WARM_DB):
        yield redis_url(WARM_DB)


def test_workers_sharing_redis_warm_each_report_once(
    postgres_url: str, shared_redis: str, computed: list[str]
) -> None:
    world = make_world(postgres_url, redis_url=shared_redis)
    second = create_app(settings_for(postgres_url, redis_url=shared_redis), clock=lambda: NOW)
    try:
        with world.session() as session:
            rows = seed(session, world.org_ids["alpha"])
        warmers = [warmer_of(world.state), warmer_of(second.state.diogen)]
        urls = asked(rows)
        ask(world, urls)
        with Session(world.engine) as session:
            world.state.demand.merge(session)  # type: ignore[union-attr]
            session.commit()
        change_data(world)
        computed.clear()
        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(Warmer.step, warmers))
        assert sum(done) >= len(urls)
        assert len(computed) == len(set(computed))  # no report computed by both
        computed.clear()
        with TestClient(second) as client:
            ask(world, urls, client)  # the other worker's cache: the same Redis
        assert computed == []
    finally:
        world.close()


# The child process `diogen serve` computes in.


@pytest.fixture
def child(world: World) -> Iterator[ChildComputer]:
    computer = ChildComputer(world.engine.url.render_as_string(hide_password=False))
    yield computer
    computer.close()


def keys(world: World) -> list[list[dict[str, Any]]]:
    """One report with two parts of its evidence, and a report alone."""
    settings, scope = world.state.settings, Scope(org="alpha")
    window = make_window("2024-01-01", "2024-03-02")
    parts = [dora_key(settings, scope, window, evidence=[p]) for p in ("deployments", "changes")]
    return [parts, [flow_key(settings, scope, window, issues=False, bucket="week")]]


def test_the_child_computes_what_the_server_would(
    world: World, rows: Any, child: ChildComputer
) -> None:
    in_process = InProcessComputer(world.engine)
    for group in keys(world):
        assert child(group, NOW) == in_process(group, NOW)


def test_a_warmer_with_a_child_fills_the_servers_cache(
    world: World, rows: Any, child: ChildComputer, computed: list[str]
) -> None:
    warmer = warmer_of(world.state)
    warmer.computer = child
    urls = [f"{V}/analytics/dora?{WINDOW}&evidence=deployments", f"{V}/analytics/flow?{WINDOW}"]
    ask(world, urls)
    change_data(world)
    assert warmer.step() >= len(urls)
    computed.clear()
    ask(world, urls)
    assert computed == []  # found in the cache, computed by the child


def test_a_child_that_died_is_replaced(world: World, rows: Any, child: ChildComputer) -> None:
    group = keys(world)[1]
    first = child(group, NOW)
    assert child.pool is not None
    for process in multiprocessing.active_children():
        os.kill(process.pid or 0, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):
        child(group, NOW)
    assert child(group, NOW) == first


def test_a_child_ends_when_its_server_is_killed(world: World, rows: Any) -> None:
    """Killed (a hung worker), a server leaves no warmer behind holding its output open."""
    script = (
        "import json, multiprocessing, sys\n"
        "from datetime import datetime\n"
        "from diogen.api.warm_process import ChildComputer\n"
        "url, keys, now = json.loads(sys.argv[1])\n"
        "ChildComputer(url)(keys, datetime.fromisoformat(now))\n"
        "print(*(p.pid for p in multiprocessing.active_children()), flush=True)\n"
        "sys.stdin.read()\n"
    )
    url = world.engine.url.render_as_string(hide_password=False)
    arguments = json.dumps([url, keys(world)[1], NOW.isoformat()])
    server = subprocess.Popen(
        [sys.executable, "-c", script, arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    (child_pid,) = map(int, server.stdout.readline().split())
    server.kill()
    server.wait()
    deadline = time.monotonic() + 30
    while _running(child_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(child_pid)


def _running(pid: int) -> bool:
    """Neither gone nor a zombie (ended, not yet reaped by whoever adopted it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

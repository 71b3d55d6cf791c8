"""Builders for the dashboard tests: a seeded database, the app served over real HTTP by
uvicorn in a thread, and an API client signed in as a dashboard user. No tests live here."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_metrics_support import Silver

from diogen.accounts.users import create_user, grant_role
from diogen.api import create_app
from diogen.config import load_settings
from diogen.connectors.base import RawItem
from diogen.db import make_engine, session_scope
from diogen.ids import stable_id
from diogen.ingest.bronze import quarantine_row, write_quarantine
from diogen.ingest.models import SyncCursor, SyncRun
from diogen.migrations import upgrade
from diogen.silver import Issue, Repository, Sprint, SprintScopeChange

PASSWORD = "correct horse battery staple"
ADMIN = "admin@example.com"
VIEWER = "viewer@example.com"
ORG = "acme"
START = datetime(2024, 7, 1, tzinfo=UTC)  # a Monday
WEEKS = 13
WINDOW = {"from": "2024-07-01", "to": "2024-09-30"}
# The live-update test adds data here, where no other test looks.
LIVE_WINDOW = {"from": "2025-02-01", "to": "2025-04-01"}
# Per repository: owning team, its two members, weekday offsets of its weekly deployments,
# and every how many production deployments an incident follows one.
REPOS = {
    "checkout": ("payments", ("alice", "bob"), (1, 3), 5),
    "search-api": ("search", ("carol", "dan"), (2,), 7),
}
# Hand-counted: checkout deploys twice a week and search-api once, every week of the window;
# an incident follows every 5th deployment of checkout and every 7th of search-api.
PRODUCTION_DEPLOYMENTS = WEEKS * 3
CHECKOUT_FAILURES = len(range(0, WEEKS * 2, 5))  # its 1st, 6th, 11th, ... deployment
SEARCH_FAILURES = len(range(0, WEEKS, 7))
# Sprints of payments: committed, added after start, completed and carried-over points.
SPRINTS = {
    "Payments 1": {"committed": 10.0, "added": 0.0, "completed": 8.0, "carry_over": 2.0},
    "Payments 2": {"committed": 8.0, "added": 3.0, "completed": 11.0, "carry_over": 0.0},
}
GITHUB_SOURCE = "github:acme/checkout"
GITHUB_BUDGET = 4321
GIT_SOURCE = "git:checkout"
GIT_LOCATION = "/srv/git/checkout"  # never read: no worker runs in these tests
QUARANTINE_REASON = "number: not an integer ('nine')"


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class _Scenario:
    """Half a year of two teams shipping pull requests through weekly deployments."""

    def __init__(self, silver: Silver, org: str | None = None, first_number: int = 1) -> None:
        self.s = silver
        self.org = org or silver.org(ORG)
        self.pr_numbers = itertools.count(first_number)

    def people(self) -> None:
        for repo, (team, members, _days, _every) in REPOS.items():
            team_id = self.s.team(team, org=self.org)
            for login in members:
                self.s.person(login)
                self.s.member(team_id, login, "2024-01-01")
            repo_id = self.s.repo(repo, org=self.org, team=team_id)
            self.s.service(
                f"{repo}-svc", [(repo_id, "")], organization_id=self.org, owning_team_id=team_id
            )
        self.s.person("dependabot[bot]", bot=True)

    def pull(
        self, repo_id: str, author: str, reviewer: str, shipped: datetime, k: int
    ) -> list[str]:
        """A pull request of two commits and a merge commit, shipped at `shipped`."""
        number = next(self.pr_numbers)
        first = shipped - timedelta(hours=20 + 7 * k + (number % 5) * 9)
        shas = [f"{repo_id[:6]}-pr{number}-{i}" for i in range(2)]
        ids = [
            self.s.commit(repo_id, sha, _iso(first + timedelta(hours=i)), author=author)
            for i, sha in enumerate(shas)
        ]
        merged = shipped - timedelta(hours=2 + k)
        merge_sha = f"{repo_id[:6]}-merge{number}"
        ids.append(self.s.commit(repo_id, merge_sha, _iso(merged), merge=True, author=author))
        pr = self.s.pull_request(
            repo_id,
            number,
            created=_iso(first + timedelta(hours=2)),
            merged=_iso(merged),
            shas=shas,
            merge_sha=merge_sha,
            author=author,
        )
        self.s.review(pr, reviewer, _iso(first + timedelta(hours=4 + number % 7)))
        return ids

    def deployments(self) -> None:
        for repo, (_team, members, days, every) in REPOS.items():
            repo_id = stable_id("git", "repository", repo)
            service_id = stable_id("test", "service", f"{repo}-svc")
            count = 0
            for week in range(WEEKS):
                for day in days:
                    shipped = START + timedelta(weeks=week, days=day, hours=15)
                    a, b = members if count % 2 else members[::-1]
                    commits = self.pull(
                        repo_id, self.s.person(a), self.s.person(b), shipped, count % 3
                    )
                    name = f"{repo}-w{week}-d{day}"
                    deployment = self.s.deploy(
                        repo_id,
                        name,
                        _iso(shipped),
                        commits=commits,
                        sha=f"{repo_id[:6]}-merge{next(self.pr_numbers) - 1}",
                        service=service_id,
                    )
                    self.s.deploy(
                        repo_id,
                        f"{name}-staging",
                        _iso(shipped - timedelta(hours=3)),
                        environment="staging",
                        service=service_id,
                    )
                    if count % every == 0:
                        self.incident(repo, deployment, service_id, shipped, count)
                    count += 1

    def incident(self, repo: str, deployment: str, service: str, at: datetime, n: int) -> None:
        # checkout's are attributed by time (same service); search-api's name their deployment.
        linked = deployment if repo == "search-api" else None
        self.s.incident(
            f"{repo} errors #{n}",
            linked,
            _iso(at + timedelta(hours=2)),
            _iso(at + timedelta(hours=2 + 1 + n % 4)),
            service=service,
        )


def _issue(key: str, assignee: str, sprint: str, points: float, done: str | None) -> Issue:
    return Issue(
        id=stable_id("test", "issue", key),
        key=key,
        status="Done" if done else "In Progress",
        status_category="done" if done else "indeterminate",
        story_points=points,
        assignee_identity_id=assignee,
        sprint_id=sprint,
        created_at=datetime(2024, 6, 28, tzinfo=UTC),
        resolved_at=datetime.fromisoformat(done).replace(tzinfo=UTC) if done else None,
        source="test",
        external_id=key,
    )


def _sprint(name: str, start: str, end: str) -> Sprint:
    return Sprint(
        id=stable_id("test", "sprint", name),
        name=name,
        board="payments",
        state="closed",
        started_at=datetime.fromisoformat(start).replace(tzinfo=UTC),
        completed_at=datetime.fromisoformat(end).replace(tzinfo=UTC),
        source="test",
        external_id=name,
    )


def sprints(silver: Silver) -> None:
    """Two sprints of the payments team (alice, bob); figures in SPRINTS."""
    alice, bob = silver.person("alice"), silver.person("bob")
    first = _sprint("Payments 1", "2024-07-01T09:00", "2024-07-12T09:00")
    second = _sprint("Payments 2", "2024-07-15T09:00", "2024-07-26T09:00")
    silver.add(first)
    silver.add(second)
    for row in (
        _issue("PAY-1", alice, first.id, 3, "2024-07-05T12:00"),
        _issue("PAY-2", bob, first.id, 5, "2024-07-10T12:00"),
        _issue("PAY-3", alice, first.id, 2, None),
        _issue("PAY-4", bob, second.id, 8, "2024-07-20T12:00"),
        _issue("PAY-5", alice, second.id, 3, "2024-07-25T12:00"),
    ):
        silver.add(row)
    # PAY-5 joins the second sprint two days in (it names the sprint, but its scope history
    # says when it came in).
    silver.add(
        SprintScopeChange(
            id=stable_id("test", "scope", "PAY-5"),
            sprint_id=second.id,
            issue_id=stable_id("test", "issue", "PAY-5"),
            change="added",
            story_points=3,
            changed_at=datetime(2024, 7, 17, 9, tzinfo=UTC),
        )
    )


def sources(session: Session) -> None:
    """What syncs leave behind: a run with its rate-limit budget, a cursor, a rejected record."""
    at = datetime(2024, 9, 29, 6, tzinfo=UTC)
    session.add(
        SyncRun(
            id="web-github-run",
            source=GITHUB_SOURCE,
            started_at=at,
            finished_at=at + timedelta(minutes=2),
            status="succeeded",
            records=120,
            summary={"rate_limit_remaining": GITHUB_BUDGET},
        )
    )
    session.add(
        SyncCursor(
            id="web-github-cursor",
            source=GITHUB_SOURCE,
            stream="pulls",
            value={"since": "2024-09-29"},
            updated_at=at + timedelta(minutes=1),
        )
    )
    # A git source the worker can sync again: its repository has a location.
    session.get_one(Repository, stable_id("git", "repository", "checkout")).location = GIT_LOCATION
    session.add(
        SyncRun(
            id="web-git-run",
            source=GIT_SOURCE,
            started_at=at,
            finished_at=at + timedelta(seconds=5),
            status="succeeded",
            records=40,
        )
    )
    bad = RawItem("pulls", "acme/checkout#999", {"number": "nine"})
    write_quarantine(session, [quarantine_row(GITHUB_SOURCE, bad, QUARANTINE_REASON, at)])


def seed(engine: Engine) -> None:
    """The scenario (on a migrated database), an instance admin and a viewer of the org."""
    upgrade(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        scenario = _Scenario(Silver(session))
        scenario.people()
        scenario.deployments()
        sprints(scenario.s)
        sources(session)
        create_user(session, ADMIN, PASSWORD, now=now, superuser=True)
        viewer = create_user(session, VIEWER, PASSWORD, now=now)
        grant_role(session, viewer.id, scenario.org, "viewer", now=now)


def ship_many(engine: Engine, start: datetime, count: int) -> None:
    """`count` production deployments of checkout from `start`, an hour apart, each shipping
    one pull request (numbered from 1000): more rows than a dashboard table first shows."""
    with session_scope(engine) as session:
        silver = Silver(session)
        scenario = _Scenario(silver, stable_id("test", "organization", ORG), first_number=1000)
        repo_id = stable_id("git", "repository", "checkout")
        alice, bob = silver.person("alice"), silver.person("bob")
        for n in range(count):
            shipped = start + timedelta(hours=n)
            commits = scenario.pull(repo_id, alice, bob, shipped, n % 3)
            number = next(scenario.pr_numbers) - 1
            sha = f"{repo_id[:6]}-merge{number}"
            silver.deploy(repo_id, f"many-{n}", _iso(shipped), commits=commits, sha=sha)


@dataclass
class Served:
    url: str
    engine: Engine

    def api(self, email: str = ADMIN) -> httpx.Client:
        """An API client signed in as `email`, like the dashboard is."""
        client = httpx.Client(base_url=f"{self.url}/api/v1", timeout=30)
        answer = client.post("/auth/token", json={"email": email, "password": PASSWORD})
        answer.raise_for_status()
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return client


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(database_url: str, poll_seconds: int = 1, **overrides: Any) -> Iterator[Served]:
    """The API with the dashboard on a seeded database, on a free port, until the block ends."""
    engine = make_engine(database_url)
    seed(engine)
    limits: dict[str, Any] = {"rate_limit_per_minute": 100_000, "ip_rate_limit_per_minute": 100_000}
    settings = load_settings(
        None,
        database_url=database_url,
        dashboard_poll_seconds=poll_seconds,
        **limits,
        **overrides,
    )
    app = create_app(settings)
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", engine)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        engine.dispose()


class Console:
    """Errors the page logged or threw; a test fails when any is left at its end."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def sign_in(page: Any, url: str, email: str = ADMIN) -> None:
    page.goto(f"{url}/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("#nav a", state="attached")
    wait_ready(page)


def wait_ready(page: Any) -> None:
    """Wait until the page shown is ready and is the one the address asks for: right after the
    address changed, the previous page can still say it is ready."""
    page.wait_for_function(
        "() => { const main = document.getElementById('main');"
        " return main.dataset.state === 'ready' && main.dataset.rendered === location.hash; }",
        timeout=30_000,
    )

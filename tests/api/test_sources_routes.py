"""Sources (what `diogen status` shows, with the rate-limit budget) and the quarantine, after a
real GitHub sync against the fake server; and the service ↔ repository links."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from api_support import NOW, World, seed
from pydantic import SecretStr
from sqlalchemy import select

from diogen.bus import make_bus
from diogen.connectors.base import RawItem
from diogen.connectors.git import GitConfig, GitConnector
from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.db import session_scope
from diogen.ingest.bronze import quarantine_row, write_quarantine
from diogen.ingest.runner import run_sync
from diogen.logs import JsonFormatter
from diogen.processing import scheduler
from diogen.processing.locks import FileLocks
from diogen.processing.models import SyncRequest
from diogen.processing.status import pipeline_status
from diogen.processing.worker import GROUP
from diogen.testing.fake_github import FakeGitHub
from diogen.testing.gitrepo import GitRepo

V = "/api/v1"
TOKEN = "ghp_sources_token"


def _sync(world: World, shared_data: Path, tmp_path: Path) -> str:
    origin = GitRepo(tmp_path / "origin")
    shas = [origin.commit(f"c{i}", NOW - timedelta(days=5 - i)) for i in range(3)]
    with FakeGitHub(shared_data, tokens={TOKEN: 5000}) as fake:
        fake.add(
            fake.examples.repository(
                "octo/app", clone_url=str(origin.path), pull_requests=3, shas=shas
            )
        )
        config = GitHubConfig(
            repos=["octo/app"], tokens=[TOKEN], cache_dir=tmp_path / "cache", api_url=fake.url
        )
        connector = GitHubConnector(config)
        run_sync(world.engine, connector)
        used = 5000 - fake.remaining[TOKEN]
    assert used > 0
    return connector.source


def test_sources_show_status_budget_and_cursors(
    world: World, shared_data: Path, tmp_path: Path
) -> None:
    source = _sync(world, shared_data, tmp_path)
    with session_scope(world.engine) as session:
        bad = RawItem("pulls", "octo/app#99", {"number": "not a number"})
        write_quarantine(session, [quarantine_row(source, bad, "number: not an integer", NOW)])

    answer = world.get("root", f"{V}/sources")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    (item,) = [i for i in body["items"] if i["source"] == source]
    with session_scope(world.engine) as session:
        bus = make_bus(world.state.settings, world.engine)
        status = pipeline_status(session, bus, GROUP).as_dict()
        bus.close()
    (expected,) = [s for s in status["sources"] if s["source"] == source]
    assert item["last_status"] == expected["last_status"] == "succeeded"
    assert item["last_records"] == expected["last_records"] > 0
    assert (item["quarantined"], item["dead_letters"]) == (1, 0)
    assert 0 < item["rate_limit_remaining"] < 5000
    assert item["cursors"] and all(c["stream"] for c in item["cursors"])
    assert body["dead_letters"] == status["dead_letters"]


def test_quarantine_lists_rejected_records_with_reasons(world: World) -> None:
    with session_scope(world.engine) as session:
        rows = [
            quarantine_row("jira:acme", RawItem("issues", f"ENG-{i}", {"key": i}), f"bad {i}", NOW)
            for i in range(3)
        ]
        write_quarantine(session, rows)

    first = world.get("root", f"{V}/quarantine?limit=2&sort=id")
    rest = world.get("root", f"{V}/quarantine?limit=2&sort=id&cursor={first.json()['next_cursor']}")
    filtered = world.get("root", f"{V}/quarantine?source=nope")

    items = first.json()["items"] + rest.json()["items"]
    assert sorted(i["error"] for i in items) == ["bad 0", "bad 1", "bad 2"]
    assert {i["natural_key"] for i in items} == {"ENG-0", "ENG-1", "ENG-2"}
    assert rest.json()["next_cursor"] is None
    assert filtered.json()["items"] == []
    for who in ("alpha:admin", "alpha:viewer"):
        refused = world.get(who, f"{V}/quarantine")
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert world.get(who, f"{V}/sources").status_code == 403


def _service_deployments(world: World, name: str) -> int:
    url = f"{V}/analytics/dora?service={name}&from=2024-02-01&to=2024-03-02"
    answer = world.get("alpha:viewer", url)
    assert answer.status_code == 200, answer.text
    deployments: int = answer.json()["deployment_frequency"]["deployments"]
    return deployments


def test_service_repository_links(world: World) -> None:
    with session_scope(world.engine) as session:
        rows = seed(session, world.org_ids["alpha"])
        other = seed(session, world.org_ids["beta"])
    base = f"{V}/services/{rows.service}/repositories"
    headers = world.headers("alpha:maintainer")
    name = world.get("alpha:viewer", f"{V}/services/{rows.service}").json()["name"]
    before = _service_deployments(world, name)

    whole = world.client.post(base, json={"repository_id": rows.repo}, headers=headers)
    path = world.client.post(
        base, json={"repository_id": rows.repo, "path_prefix": "/svc/"}, headers=headers
    )
    again = world.client.post(
        base, json={"repository_id": rows.repo, "path_prefix": "svc/"}, headers=headers
    )
    foreign = world.client.post(base, json={"repository_id": other.repo}, headers=headers)
    by_viewer = world.client.post(
        base, json={"repository_id": rows.repo}, headers=world.headers("alpha:viewer")
    )

    assert whole.status_code == 201, whole.text
    assert path.json()["path_prefix"] == "svc/" and path.json()["repository"] == rows.repo_name
    assert (again.status_code, foreign.status_code, by_viewer.status_code) == (409, 404, 403)
    assert world.get("alpha:viewer", base).json() == {"items": [whole.json(), path.json()]}
    # A service spanning the repository whole has its deployment (02-29 12:00).
    assert (before, _service_deployments(world, name)) == (0, 1)
    removed = world.client.delete(f"{base}/{whole.json()['id']}", headers=headers)
    assert removed.status_code == 204
    assert world.get("alpha:viewer", base).json() == {"items": [path.json()]}
    assert _service_deployments(world, name) == 0
    audit = world.get("root", f"{V}/audit").json()["items"]
    assert {"service.link", "service.unlink"} <= {a["action"] for a in audit}


def test_a_requested_sync_is_run_by_the_next_scheduler_tick(world: World, tmp_path: Path) -> None:
    origin = GitRepo(tmp_path / "shop")
    origin.commit("a", NOW - timedelta(days=2))
    settings = world.state.settings
    config = GitConfig(location=str(origin.path), name="shop", cache_dir=tmp_path / "cache")
    run_sync(world.engine, GitConnector(config), clock=lambda: NOW - timedelta(minutes=5))
    with session_scope(world.engine) as session:
        (job,) = scheduler.jobs(session, settings)
        assert not scheduler.is_due(session, job, NOW)  # its interval has not passed

    asked = world.client.post(f"{V}/sources/git:shop/sync", headers=world.headers("root"))

    assert asked.status_code == 202, asked.text
    assert asked.json()["requested_at"] == "2024-03-01T12:00:00Z"
    (listed,) = world.get("root", f"{V}/sources").json()["items"]
    assert (listed["can_sync"], listed["sync_requested_at"]) == (True, "2024-03-01T12:00:00Z")
    later = NOW + timedelta(minutes=1)
    ran = scheduler.run_due(
        world.engine, settings, FileLocks(tmp_path / "locks"), lambda: later, lambda: False
    )
    assert [r.source for r in ran] == ["git:shop"]
    (after,) = world.get("root", f"{V}/sources").json()["items"]
    assert after["sync_requested_at"] is None
    assert after["last_started"] == "2024-03-01T12:01:00Z"
    again = scheduler.run_due(
        world.engine, settings, FileLocks(tmp_path / "locks"), lambda: later, lambda: False
    )
    assert again == []  # the request was answered by that run


def test_only_schedulable_sources_can_be_asked_for(
    world: World, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITHUB_TOKEN", "DIOGEN_GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    source = _sync(world, shared_data, tmp_path)
    root = world.headers("root")

    github = world.client.post(f"{V}/sources/{source}/sync", headers=root)
    unknown = world.client.post(f"{V}/sources/git:nothing/sync", headers=root)
    member = world.client.post(f"{V}/sources/{source}/sync", headers=world.headers("alpha:admin"))

    assert github.status_code == 409
    assert github.json()["detail"] == (
        f"{source} cannot be scheduled: no GitHub token is set: DIOGEN_GITHUB_TOKEN or GITHUB_TOKEN"
    )
    assert (unknown.status_code, member.status_code) == (404, 403)
    (item,) = [
        i for i in world.get("root", f"{V}/sources").json()["items"] if i["source"] == source
    ]
    assert (item["can_sync"], item["sync_requested_at"]) == (False, None)
    assert item["schedule"] == (
        "cannot be scheduled: no GitHub token is set: DIOGEN_GITHUB_TOKEN or GITHUB_TOKEN"
    )


def test_a_requested_github_sync_is_run_by_the_next_scheduler_tick(
    world: World, shared_data: Path, tmp_path: Path
) -> None:
    world.state.settings = world.state.settings.model_copy(
        update={"github_token": SecretStr(TOKEN)}
    )
    settings = world.state.settings
    with FakeGitHub(shared_data, tokens={TOKEN: 5000}) as fake:
        fake.add(fake.examples.repository("octo/app", pull_requests=3))
        config = GitHubConfig(repos=["octo/app"], tokens=[TOKEN], api_url=fake.url, clone=False)
        connector = GitHubConnector(config)
        run_sync(world.engine, connector, clock=lambda: NOW - timedelta(minutes=5))
        source = connector.source

        asked = world.client.post(f"{V}/sources/{source}/sync", headers=world.headers("root"))

        assert asked.status_code == 202, asked.text
        (listed,) = world.get("root", f"{V}/sources").json()["items"]
        assert (listed["can_sync"], listed["schedule"]) == (True, "every 30 min")
        assert listed["sync_requested_at"] == "2024-03-01T12:00:00Z"
        used = len(fake.log)
        later = NOW + timedelta(minutes=1)
        locks = FileLocks(tmp_path / "locks")
        ran = scheduler.run_due(world.engine, settings, locks, lambda: later, lambda: False, {})
        again = scheduler.run_due(world.engine, settings, locks, lambda: later, lambda: False, {})
    assert [r.source for r in ran] == [source] and again == []
    assert len(fake.log) > used
    (after,) = world.get("root", f"{V}/sources").json()["items"]
    assert after["sync_requested_at"] is None
    assert (after["last_status"], after["last_started"]) == ("succeeded", "2024-03-01T12:01:00Z")


def test_the_sync_an_api_request_asked_for_logs_that_requests_id(
    world: World, tmp_path: Path
) -> None:
    origin = GitRepo(tmp_path / "shop")
    origin.commit("a", NOW - timedelta(days=2))
    config = GitConfig(location=str(origin.path), name="shop", cache_dir=tmp_path / "cache")
    run_sync(world.engine, GitConnector(config), clock=lambda: NOW - timedelta(minutes=5))
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())  # formats as it is emitted, in the sync's context
    logger = logging.getLogger("diogen.processing.scheduler")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    asked = world.client.post(
        f"{V}/sources/git:shop/sync",
        headers={**world.headers("root"), "X-Request-ID": "ask-42"},
    )
    try:
        scheduler.run_due(
            world.engine,
            world.state.settings,
            FileLocks(tmp_path / "locks"),
            lambda: NOW + timedelta(minutes=1),
            lambda: False,
        )
    finally:
        logger.removeHandler(handler)

    assert asked.status_code == 202 and asked.headers["x-request-id"] == "ask-42"
    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [(entry["message"], entry.get("request_id")) for entry in logged] == [
        ("sync of git:shop started as asked", "ask-42"),
        ("sync of git:shop finished: 0 records", "ask-42"),
    ]
    with session_scope(world.engine) as session:
        assert session.scalar(select(SyncRequest.request_id)) == "ask-42"

"""An organisation sync with teams, issues as incidents and commit checks, killed at any point,
resumes from its last committed cursor to exactly the rows of an uninterrupted sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from github_support import KillAfter, Sleeper, silver
from sqlalchemy import Engine

from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.db import make_engine
from diogen.ingest.runner import run_sync
from diogen.migrations import upgrade
from diogen.testing.fake_github import FakeGitHub

AT = datetime(2024, 3, 1, tzinfo=UTC)


def build(fake: FakeGitHub) -> None:
    repo = fake.add(fake.examples.repository("octo/app", pull_requests=30, deployments=3, runs=2))
    fake.add(fake.examples.repository("octo/api", pull_requests=5))
    for number in range(1, 6):
        fake.examples.add_issue(
            repo,
            number,
            labels=["incident"] if number % 2 else ["bug"],
            created=AT + timedelta(hours=number),
            closed=AT + timedelta(hours=number + 2) if number < 4 else None,
        )
    repo.branch_commits = ["a" * 40, "b" * 40]
    fake.examples.add_check_run(repo, "a" * 40, "lint", app="circleci", at=AT)
    fake.examples.add_commit_status(repo, "b" * 40, "ci/jenkins", "success", AT)
    platform = fake.add_team(
        "octo", "Platform", members=["alice", "bob"], repos={"octo/app": "admin"}
    )
    fake.add_team(
        "octo", "Payments", members=["carol"], repos={"octo/api": "push"}, parent=platform
    )


def run(
    engine: Engine, fake: FakeGitHub, tmp_path: Path, transport: httpx.BaseTransport | None = None
) -> None:
    config = GitHubConfig(
        org="octo",
        tokens=["t"],
        api_url=fake.url,
        clone=False,
        cache_dir=tmp_path / "cache",
        incidents={"labels": ["incident"]},
        checks=True,
        pull_request_page_size=10,
    )
    connector = GitHubConnector(config, transport=transport, sleep=Sleeper(), clock=AT.timestamp)
    run_sync(engine, connector)


def reference(fake: FakeGitHub, tmp_path: Path) -> tuple[dict[str, list[tuple[Any, ...]]], int]:
    engine = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade(engine)
    before = len(fake.log)
    run(engine, fake, tmp_path / "ref")
    rows = silver(engine)
    engine.dispose()
    return rows, len(fake.log) - before


@pytest.mark.parametrize("share", [0.25, 0.5, 0.75, 0.9, 0.97])
def test_killed_org_sync_resumes_to_the_same_rows(
    share: float, fake: FakeGitHub, engine: Engine, tmp_path: Path
) -> None:
    build(fake)
    expected, requests = reference(fake, tmp_path)
    assert len(expected["team_membership"]) == 3 and len(expected["incident"]) == 3
    with pytest.raises(SystemExit):
        run(engine, fake, tmp_path, KillAfter(int(requests * share)))
    run(engine, fake, tmp_path)
    assert silver(engine) == expected

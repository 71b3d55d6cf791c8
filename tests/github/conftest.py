"""Fixtures for GitHub tests: a migrated database, the fake GitHub server, a git history whose
commits the fake's records refer to, and a sync function bound to all three."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from github_support import Sleeper
from sqlalchemy import Engine

from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.connectors.http import RetryPolicy
from diogen.ingest.runner import SyncResult, run_sync
from diogen.testing.fake_github import FakeGitHub
from diogen.testing.gitrepo import GitRepo

T0 = datetime(2024, 1, 1, tzinfo=UTC)
TOKEN = "ghp_test_token_one"


@pytest.fixture
def fake(shared_data: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(shared_data) as server:
        yield server


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    """A linear history of 10 commits on main (oldest first)."""
    repo = GitRepo(tmp_path / "origin")
    shas = [
        repo.commit(f"c{i}", T0 + timedelta(hours=i), author=(f"Dev {i % 3}", f"d{i % 3}@x.org"))
        for i in range(10)
    ]
    return repo.path, shas


Sync = Callable[..., SyncResult]


@pytest.fixture
def sync(engine: Engine, fake: FakeGitHub, tmp_path: Path) -> Callable[..., SyncResult]:
    """sync(repos=[...], transport=..., sleep=..., **GitHubConfig fields) runs one sync."""

    def run(
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleeper | None = None,
        retry: RetryPolicy | None = None,
        **options: Any,
    ) -> SyncResult:
        options.setdefault("tokens", [TOKEN])
        options.setdefault("cache_dir", tmp_path / "cache")
        options.setdefault("api_url", fake.url)
        config = GitHubConfig(**options)
        connector = GitHubConnector(
            config, transport=transport, sleep=sleep or Sleeper(), retry=retry
        )
        return run_sync(engine, connector)

    return run

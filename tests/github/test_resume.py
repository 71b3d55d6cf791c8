"""A sync killed at any point resumes from its last committed cursor: no gap, no duplicate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from github_support import KillAfter, silver
from sqlalchemy import Engine

from diogen.connectors.github import DeploymentRules, GitHubConfig, GitHubConnector
from diogen.db import make_engine
from diogen.ingest.runner import SyncResult, run_sync
from diogen.migrations import upgrade
from diogen.testing.fake_github import FakeGitHub

Sync = Callable[..., SyncResult]
RULES = DeploymentRules(workflow_pattern="deploy", releases=True)


def reference(fake: FakeGitHub, tmp_path: Path, **options: Any) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade(engine)
    config = GitHubConfig(api_url=fake.url, tokens=["t"], cache_dir=tmp_path / "cache", **options)
    run_sync(engine, GitHubConnector(config))
    rows = silver(engine)
    engine.dispose()
    return rows


# Kill points: between the PR pages (3), at the review comments (5), among the deployment
# statuses (7), at the workflow runs (11) and among their jobs (16).
@pytest.mark.parametrize("kill_after", [3, 5, 7, 11, 16])
def test_killed_sync_resumes_without_gap_or_duplicate(
    kill_after: int,
    fake: FakeGitHub,
    history: tuple[Path, list[str]],
    sync: Sync,
    engine: Engine,
    tmp_path: Path,
) -> None:
    path, shas = history
    fake.add(
        fake.examples.repository(
            "octo/app",
            clone_url=str(path),
            pull_requests=60,
            deployments=4,
            releases=2,
            runs=4,
            shas=shas,
        )
    )
    options = {"repos": ["octo/app"], "rules": RULES, "pull_request_page_size": 20}
    expected = reference(fake, tmp_path, **options)
    with pytest.raises(SystemExit):
        sync(transport=KillAfter(kill_after), **options)
    sync(**options)
    assert silver(engine) == expected
    assert len(expected["pull_request"]) == 60 and len(expected["deployment"]) == 6

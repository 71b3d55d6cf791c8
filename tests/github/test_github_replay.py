"""A GitHub source rebuilt from bronze alone: sync from the fake GitHub (API and clone), wipe
silver, replay; every silver row comes back as the sync wrote it, and the replay never
touches the network."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select

from diogen.config import Settings
from diogen.connectors.github import DeploymentRules
from diogen.db import session_scope
from diogen.ingest.models import RawRecord, SyncCursor
from diogen.ingest.replay import replay
from diogen.ingest.runner import CONFIG_CURSOR, SyncResult
from diogen.testing.fake_github import FakeGitHub
from diogen.testing.gitrepo import GitRepo
from diogen.testing.silver_rows import snapshot, wipe_silver

RULES = DeploymentRules(workflow_pattern="deploy", releases=True)


def test_replay_rebuilds_github_silver_exactly(
    fake: FakeGitHub,
    history: tuple[Path, list[str]],
    sync: Callable[..., SyncResult],
    engine: Engine,
) -> None:
    path, shas = history
    repo = fake.examples.repository(
        "octo/app",
        clone_url=str(path),
        pull_requests=12,
        deployments=3,
        releases=2,
        runs=3,
        shas=shas,
    )
    fake.add(repo)
    sync(repos=["octo/app"], rules=RULES, repo_rules={"octo/app": RULES})
    # A branch pushed and deleted between syncs leaves a stale ref the sync removed.
    origin = GitRepo(path)
    origin.git("branch", "gone", shas[5])
    sync(repos=["octo/app"], rules=RULES, repo_rules={"octo/app": RULES})
    origin.git("branch", "-D", "gone")
    origin.git("commit", "-q", "--allow-empty", "-m", "late")
    sync(repos=["octo/app"], rules=RULES, repo_rules={"octo/app": RULES})
    expected = snapshot(engine)
    requests = len(fake.log)
    assert expected["deployment_commit"] and expected["pull_request"] and expected["git_ref"]
    with session_scope(engine) as session:
        gone = session.scalars(
            select(RawRecord.id).where(RawRecord.natural_key == "octo/app#ref/branch:gone")
        ).all()
    assert gone and not any("gone" in str(row) for row in expected["git_ref"])

    wipe_silver(engine)
    assert not any(snapshot(engine).values())
    result = replay(engine, Settings())

    assert result.outcome.dead == 0
    assert snapshot(engine) == expected
    assert len(fake.log) == requests
    with session_scope(engine) as session:
        saved = session.scalar(select(SyncCursor.value).where(SyncCursor.stream == CONFIG_CURSOR))
    assert saved is not None
    assert saved["tokens"] == ["**********"]  # the configuration is kept, never the secrets

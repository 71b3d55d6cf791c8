"""Commits through the API when there is no clone: GraphQL history pages over real HTTP from
the fake GitHub (its commits are a real git history's), the same rows as a clone sync, an
incremental re-sync, and a killed walk resumed. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import T0
from github_support import KillAfter, silver
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from diogen.config import Settings
from diogen.ingest.replay import replay
from diogen.ingest.runner import SyncResult
from diogen.silver import Commit, CommitFile, GitRef
from diogen.testing.fake_github import FakeGitHub, FakeRepo
from diogen.testing.gitrepo import GitRepo
from diogen.testing.silver_rows import snapshot, wipe_silver

Sync = Callable[..., SyncResult]
API = {"repos": ["octo/app"], "commits": "api"}


@pytest.fixture
def origin(tmp_path: Path) -> GitRepo:
    """230 commits on main (three GraphQL pages) with a feature branch merged in."""
    repo = GitRepo(tmp_path / "origin")
    for i in range(200):
        repo.commit(f"c{i}", T0 + timedelta(hours=i), author=(f"Dev {i % 3}", f"d{i % 3}@x.org"))
    repo.checkout("feature", create=True)
    for i in range(20):
        repo.commit(f"f{i}", T0 + timedelta(hours=200 + i), files={f"f{i}.txt": "x\ny\n"})
    repo.checkout("main")
    for i in range(9):
        repo.commit(f"m{i}", T0 + timedelta(hours=200 + i, minutes=30))
    repo.merge("feature", T0 + timedelta(hours=230))
    return repo


@pytest.fixture
def app(fake: FakeGitHub, origin: GitRepo) -> FakeRepo:
    repo = fake.add(fake.examples.repository("octo/app", clone_url=str(origin.path)))
    fake.examples.add_history(repo, origin.path)
    return repo


def commits(engine: Engine) -> dict[str, dict[str, Any]]:
    with Session(engine) as session:
        return {
            c.sha: {col.key: getattr(c, col.key) for col in Commit.__table__.columns}
            for c in session.scalars(select(Commit))
        }


def graphql(fake: FakeGitHub) -> int:
    return len(fake.requests("POST"))


def test_api_sync_reads_the_history_in_pages_as_a_clone_would(
    app: FakeRepo, fake: FakeGitHub, sync: Sync, engine: Engine
) -> None:
    result = sync(**API)
    assert result.summary["commits"] == 230
    assert graphql(fake) == 1 + 3  # the pull requests, then history pages of 100, 100, 30
    assert all(r.cost == 1 for r in fake.requests("POST"))
    by_api = commits(engine)
    assert set(by_api) == set(app.branch_commits)
    merge = by_api[app.branch_commits[0]]
    assert merge["is_merge"] and merge["additions"] is None and merge["files_changed"] is None
    feature = next(c for c in by_api.values() if c["subject"] == "f3")
    assert (feature["additions"], feature["deletions"], feature["files_changed"]) == (2, 0, 1)
    with Session(engine) as session:
        assert session.query(CommitFile).count() == 0  # GraphQL has no per-file counts
        ref = session.scalars(select(GitRef)).one()
        assert (ref.name, ref.commit_sha) == ("main", app.branch_commits[0])

    # A later clone sync writes the same rows (ids, parents, dates, people, line counts)
    # and adds what the API cannot give: the files.
    sync(repos=["octo/app"])
    assert commits(engine) == by_api
    with Session(engine) as session:
        assert session.query(CommitFile).count() == 230 - 1


def test_a_resync_reads_only_new_commits_and_nothing_when_nothing_moved(
    app: FakeRepo, origin: GitRepo, fake: FakeGitHub, sync: Sync, engine: Engine
) -> None:
    sync(**API)
    fake.log.clear()
    again = sync(**API)
    probes = [r for r in fake.log if r.path.endswith("/commits")]
    assert [r.status for r in probes] == [304] and graphql(fake) == 0
    assert "commits" not in again.summary

    for i in range(3):
        origin.commit(f"n{i}", T0 + timedelta(hours=300 + i))
    fake.examples.add_history(app, origin.path)
    fake.log.clear()
    result = sync(**API)
    assert result.summary["commits"] == 3 and graphql(fake) == 1
    assert len(commits(engine)) == 233


def test_a_killed_walk_resumes_without_gap_or_duplicate(
    app: FakeRepo, fake: FakeGitHub, sync: Sync, engine: Engine, tmp_path: Path
) -> None:
    # Requests: repository, pulls probe and query, comments, deployments, runs, commits
    # probe, then the history pages: killed after the first page.
    with pytest.raises(SystemExit):
        sync(transport=KillAfter(8), **API)
    assert 0 < len(commits(engine)) < 230
    result = sync(**API)
    assert len(commits(engine)) == 230
    assert result.summary["commits"] == 130  # the walk went on from its second page
    assert len(silver(engine)["git_commit"]) == 230


def test_a_repository_that_cannot_be_cloned_is_read_through_the_api(
    fake: FakeGitHub, origin: GitRepo, sync: Sync, engine: Engine, tmp_path: Path
) -> None:
    repo = fake.add(fake.examples.repository("octo/app", clone_url=str(tmp_path / "missing")))
    fake.examples.add_history(repo, origin.path)
    result = sync(repos=["octo/app"])
    assert result.summary["clones_failed"] == 1 and result.summary["commits"] == 230
    assert len(commits(engine)) == 230


def test_no_commits(app: FakeRepo, fake: FakeGitHub, sync: Sync, engine: Engine) -> None:
    sync(repos=["octo/app"], commits="none")
    assert not commits(engine) and graphql(fake) == 1  # the pull requests' only
    assert not [r for r in fake.log if r.path.endswith("/commits")]


def test_api_commits_replay_from_bronze_exactly(app: FakeRepo, sync: Sync, engine: Engine) -> None:
    sync(**API)
    expected = snapshot(engine)
    assert len(expected["git_commit"]) == 230
    wipe_silver(engine)
    result = replay(engine, Settings())
    assert result.outcome.dead == 0
    assert snapshot(engine) == expected


def test_no_clone_and_no_commits_conflict(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from diogen.cli import main

    argv = ["diogen", "sync", "github", "--repo", "octo/app", "--token", "t"]
    monkeypatch.setattr(sys, "argv", [*argv, "--no-clone", "--commits", "none"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    assert "--no-clone reads commits through the API" in capsys.readouterr().err

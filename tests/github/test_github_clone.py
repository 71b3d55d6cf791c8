"""The clone path of `sync github`: history rewritten on GitHub (a force-push, a deleted
branch) leaves its commits stored but unreachable, as `sync git` does."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from diogen.db import session_scope
from diogen.ingest.runner import SyncResult
from diogen.silver import Commit, GitRef
from diogen.testing.fake_github import FakeGitHub
from diogen.testing.gitrepo import GitRepo

T0 = datetime(2024, 1, 1, tzinfo=UTC)
Sync = Callable[..., SyncResult]


def test_force_pushed_and_deleted_history_is_marked_unreachable(
    fake: FakeGitHub, sync: Sync, engine: Engine, tmp_path: Path
) -> None:
    origin = GitRepo(tmp_path / "origin")
    base = origin.commit("base", T0)
    origin.checkout("topic", create=True)
    topic = origin.commit("topic work", T0 + timedelta(hours=1))
    origin.checkout("main")
    doomed = origin.commit("will be force-pushed away", T0 + timedelta(hours=2))
    fake.add(fake.examples.repository("octo/app", clone_url=str(origin.path)))
    first = sync(repos=["octo/app"])
    assert first.summary["commits"] == 3 and first.summary["unreachable"] == 0
    origin.git("reset", "-q", "--hard", base)
    replacement = origin.commit("replacement", T0 + timedelta(hours=3))
    origin.git("branch", "-D", "topic")
    second = sync(repos=["octo/app"])
    with session_scope(engine) as session:
        reachable = dict(session.execute(select(Commit.sha, Commit.reachable)).all())
        refs = set(session.scalars(select(GitRef.name)))
    assert reachable == {base: True, replacement: True, topic: False, doomed: False}
    assert second.summary["unreachable"] == 2 and second.summary["refs_removed"] == 1
    assert "main" in refs and "topic" not in refs


def test_a_lost_clone_cache_falls_back_to_full_reachability(
    fake: FakeGitHub, sync: Sync, engine: Engine, tmp_path: Path
) -> None:
    """The cache wiped between syncs: the fresh clone lacks the last tips, so git cannot say
    what they reached; every stored commit is compared with the full reachable set."""
    origin = GitRepo(tmp_path / "origin")
    base = origin.commit("base", T0)
    doomed = origin.commit("doomed", T0 + timedelta(hours=1))
    fake.add(fake.examples.repository("octo/app", clone_url=str(origin.path)))
    sync(repos=["octo/app"])
    origin.git("reset", "-q", "--hard", base)
    origin.git("reflog", "expire", "--expire=now", "--all")
    origin.git("gc", "-q", "--prune=now")
    shutil.rmtree(tmp_path / "cache")
    result = sync(repos=["octo/app"])
    assert result.summary["unreachable"] == 1
    with session_scope(engine) as session:
        assert dict(session.execute(select(Commit.sha, Commit.reachable)).all()) == {
            base: True,
            doomed: False,
        }

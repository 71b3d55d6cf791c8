"""Git sync end to end: what is stored equals what git says, incrementally and after rewrites."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from diogen.db import session_scope
from diogen.ingest import runner
from diogen.ingest.models import RawRecord, SyncCursor
from diogen.ingest.runner import CONFIG_CURSOR, SyncResult
from diogen.metrics.gold import refresh_gold
from diogen.silver import Commit, CommitFile, Deployment, DeploymentCommit, GitRef, Identity, Person
from diogen.silver.gold import GoldChangeLog
from diogen.silver.keys import repository_id
from diogen.testing.gitrepo import GitRepo
from diogen.testing.gold_check import gold_agrees_with_silver
from diogen.testing.numstat import numstat_totals as reference_totals

Sync = Callable[..., SyncResult]
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
BINARY = bytes(range(256)) * 4


def numstat_totals(path: Path) -> dict[str, tuple[int | None, int | None]]:
    """sha → (additions, deletions) from `git log --numstat` itself; merges → (None, None)."""
    return {
        sha: (None, None) if stats is None else stats[:2]
        for sha, stats in reference_totals(path).items()
    }


def stored_totals(engine: Engine) -> dict[str, tuple[int | None, int | None]]:
    with session_scope(engine) as session:
        return {
            sha: (a, d)
            for sha, a, d in session.execute(select(Commit.sha, Commit.additions, Commit.deletions))
        }


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def build_history(repo: GitRepo) -> dict[str, str]:
    """main: c1 → c2 (rename + binary) → merge of feature (f1, f2) → c3; tags v1.0.0 (annotated,
    at c2), v1.1.0 (lightweight, at the merge), v1.2.0-rc1 (pre-release, at c3)."""
    shas = {}
    shas["c1"] = repo.commit("c1", T0, files={"src/app.py": "a\nb\nc\n", "docs/read me.md": "x\n"})
    shas["c2"] = repo.commit(
        "c2", T0 + timedelta(hours=5), files={"img.bin": BINARY, "src/app.py": "a\nB\nc\nd\n"}
    )
    repo.git("mv", "docs/read me.md", "docs/läs mig.md")
    shas["c2b"] = repo.commit("rename", T0 + timedelta(hours=6), files={})
    repo.tag("v1.0.0", when=T0 + timedelta(days=1), message="first release")
    repo.checkout("feature", create=True)
    shas["f1"] = repo.commit("f1", T0 + timedelta(days=1, hours=2), files={"src/f.py": "1\n2\n"})
    shas["f2"] = repo.commit("f2", T0 + timedelta(days=2), files={"src/f.py": "1\n2\n3\n"})
    repo.checkout("main")
    shas["merge"] = repo.merge("feature", T0 + timedelta(days=3))
    repo.tag("v1.1.0")
    shas["c3"] = repo.commit("c3", T0 + timedelta(days=4), files={"src/app.py": "z\n"})
    repo.tag("v1.2.0-rc1", when=T0 + timedelta(days=4, hours=1), message="rc")
    return shas


def test_stats_equal_git_log_numstat(tmp_path: Path, engine: Engine, sync: Sync) -> None:
    repo = GitRepo(tmp_path / "r")
    build_history(repo)
    result = sync(repo.path)
    assert result.rejected == 0
    assert stored_totals(engine) == numstat_totals(repo.path)
    with session_scope(engine) as session:
        files = {f.path: f for f in session.scalars(select(CommitFile))}
        merge = session.scalars(select(Commit).where(Commit.is_merge)).one()
    assert files["img.bin"].is_binary and files["img.bin"].additions == 0
    assert files["docs/läs mig.md"].old_path == "docs/read me.md"
    assert (merge.additions, merge.files_changed) == (None, None)


def test_commit_fields_times_and_offsets(tmp_path: Path, engine: Engine, sync: Sync) -> None:
    repo = GitRepo(tmp_path / "r")
    tokyo = timezone(timedelta(hours=9))
    authored = datetime(2024, 1, 2, 8, 30, tzinfo=tokyo)
    committed = datetime(2024, 1, 2, 1, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    sha = repo.commit(
        "subject line\n\nbody",
        authored,
        author=("Åsa Ölund", "asa@example.com"),
        committed=committed,
        committer=("Ci", "ci@example.com"),
    )
    sync(repo.path)
    with session_scope(engine) as session:
        commit = session.scalars(select(Commit)).one()
        author = session.get(Identity, commit.author_identity_id)
    assert commit.sha == sha
    assert commit.authored_at == datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
    assert commit.author_tz_offset == 9 * 60
    assert commit.committed_at == datetime(2024, 1, 2, 6, 30, tzinfo=UTC)
    assert commit.committer_tz_offset == -(5 * 60 + 30)
    assert commit.subject == "subject line"
    assert commit.message.startswith("subject line\n\nbody")
    assert author is not None and (author.name, author.email) == ("Åsa Ölund", "asa@example.com")


def test_release_tags_become_deployments_with_commits_by_ancestry(
    tmp_path: Path, engine: Engine, sync: Sync
) -> None:
    repo = GitRepo(tmp_path / "r")
    shas = build_history(repo)
    sync(repo.path)
    with session_scope(engine) as session:
        deployments = {d.ref_name: d for d in session.scalars(select(Deployment))}
        by_deployment: dict[str, set[str]] = {}
        for ref_name, sha in session.execute(
            select(Deployment.ref_name, Commit.sha)
            .join(DeploymentCommit, DeploymentCommit.deployment_id == Deployment.id)
            .join(Commit, Commit.id == DeploymentCommit.commit_id)
        ):
            by_deployment.setdefault(ref_name, set()).add(sha)
    assert set(deployments) == {"v1.0.0", "v1.1.0"}  # the -rc1 pre-release is not a release
    assert deployments["v1.0.0"].finished_at == T0 + timedelta(days=1)  # annotated: tagger date
    assert deployments["v1.1.0"].finished_at == T0 + timedelta(
        days=3
    )  # lightweight: committer date
    assert deployments["v1.0.0"].environment == "production"
    assert by_deployment["v1.0.0"] == {shas["c1"], shas["c2"], shas["c2b"]}
    assert by_deployment["v1.1.0"] == {shas["f1"], shas["f2"], shas["merge"]}


def test_prereleases_when_configured(tmp_path: Path, engine: Engine, sync: Sync) -> None:
    from diogen.config import PRERELEASE_PATTERN

    repo = GitRepo(tmp_path / "r")
    build_history(repo)
    sync(repo.path, release_pattern=PRERELEASE_PATTERN)
    assert count(engine, Deployment) == 3


def test_second_sync_reads_only_new_commits(tmp_path: Path, engine: Engine, sync: Sync) -> None:
    repo = GitRepo(tmp_path / "r")
    build_history(repo)
    first = sync(repo.path)
    assert first.summary["commits"] == 7
    unchanged = sync(repo.path)
    assert unchanged.records == 0 and unchanged.summary == {}
    repo.commit("c4", T0 + timedelta(days=5))
    repo.tag("v1.3.0")
    third = sync(repo.path)
    assert third.summary["commits_to_read"] == 1
    assert count(engine, Commit) == 8 and count(engine, Deployment) == 3
    assert stored_totals(engine) == numstat_totals(repo.path)


def test_rewritten_history_is_marked_unreachable(
    tmp_path: Path, engine: Engine, sync: Sync
) -> None:
    repo = GitRepo(tmp_path / "r")
    base = repo.commit("base", T0)
    repo.checkout("topic", create=True)
    topic = repo.commit("topic work", T0 + timedelta(hours=1))
    repo.checkout("main")
    doomed = repo.commit("will be force-pushed away", T0 + timedelta(hours=2))
    sync(repo.path)
    repo.git("reset", "-q", "--hard", base)
    replacement = repo.commit("replacement", T0 + timedelta(hours=3))
    repo.git("branch", "-D", "topic")
    result = sync(repo.path)
    with session_scope(engine) as session:
        reachable = dict(session.execute(select(Commit.sha, Commit.reachable)).all())
        refs = set(session.scalars(select(GitRef.name)))
    assert reachable == {base: True, replacement: True, topic: False, doomed: False}
    assert result.summary["unreachable"] == 2
    assert refs == {"main"}


def test_pruned_old_tips_fall_back_to_full_reachability(
    tmp_path: Path, engine: Engine, sync: Sync
) -> None:
    repo = GitRepo(tmp_path / "r")
    base = repo.commit("base", T0)
    doomed = repo.commit("doomed", T0 + timedelta(hours=1))
    sync(repo.path)
    repo.git("reset", "-q", "--hard", base)
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    sync(repo.path)
    with session_scope(engine) as session:
        assert dict(session.execute(select(Commit.sha, Commit.reachable)).all()) == {
            base: True,
            doomed: False,
        }


def test_mailmap_and_noreply_resolve_to_one_person(
    tmp_path: Path, engine: Engine, sync: Sync
) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("a", T0, author=("Jo Dev", "jo@work.example"))
    repo.commit("b", T0 + timedelta(hours=1), author=("jo", "jo@home.example"))
    repo.commit("c", T0 + timedelta(hours=2), author=("Jo", "12345+jodev@users.noreply.github.com"))
    repo.commit("d", T0 + timedelta(hours=3), author=("Jo", "jodev@users.noreply.github.com"))
    repo.commit(
        "e",
        T0 + timedelta(hours=4),
        author=("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
    )
    repo.write(
        ".mailmap",
        "Jo Dev <jo@work.example> <jo@home.example>\nthis line is not a mailmap entry\n<broken\n",
    )
    repo.commit(
        "mailmap", T0 + timedelta(hours=5), files={".mailmap": (repo.path / ".mailmap").read_text()}
    )
    result = sync(repo.path)
    assert result.rejected == 0
    with session_scope(engine) as session:
        people = {i.email: i.person_id for i in session.scalars(select(Identity))}
        bots = {i.name for i in session.scalars(select(Identity).where(Identity.is_bot))}
        persons = count(engine, Person)
    assert people["jo@work.example"] == people["jo@home.example"]
    assert (
        people["12345+jodev@users.noreply.github.com"] == people["jodev@users.noreply.github.com"]
    )
    assert people["jo@work.example"] != people["jodev@users.noreply.github.com"]
    assert bots == {"dependabot[bot]"}
    assert persons == 4  # Jo Dev (mailmap), jodev (noreply), dependabot, Default Dev (committer)


def test_raw_records_are_kept_and_cursor_committed(
    tmp_path: Path, engine: Engine, sync: Sync
) -> None:
    repo = GitRepo(tmp_path / "r")
    build_history(repo)
    sync(repo.path)
    sync(repo.path)
    with session_scope(engine) as session:
        streams = dict(
            session.execute(select(RawRecord.stream, func.count()).group_by(RawRecord.stream)).all()
        )
        cursor = session.scalars(select(SyncCursor).where(SyncCursor.stream != CONFIG_CURSOR)).one()
    assert streams == {"repository": 1, "refs": 5, "commits": 7}
    assert (
        cursor.stream == "commits" and len(cursor.value["tips"]) == 4
    )  # c3, f2, c2b (v1.0.0), merge (v1.1.0)


def test_a_first_sync_logs_its_repository_whole_then_keys(
    tmp_path: Path, engine: Engine, sync: Sync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gold would rebuild a repository's first commits whole: it is logged so before them (on
    SQLite its keys are then not logged one by one); later syncs log their new keys."""
    before_refresh: list[set[tuple[str, str]]] = []

    def refresh(session: Session, repository_ids: Collection[str] | None = None) -> Any:
        before_refresh.append(set(session.execute(select(GoldChangeLog.kind, GoldChangeLog.key))))
        return refresh_gold(session, repository_ids)

    monkeypatch.setattr(runner, "refresh_gold", refresh)
    repo = GitRepo(tmp_path / "r")
    build_history(repo)
    sync(repo.path)
    repo.commit("c4", T0 + timedelta(days=5))
    sync(repo.path)

    repository = repository_id("git", "repo")
    with session_scope(engine) as session:
        c4 = session.scalars(select(Commit.id).where(Commit.subject == "c4")).one()
        assert session.scalar(select(func.count()).select_from(GoldChangeLog)) == 0
    first, second = before_refresh
    assert ("repository", repository) in first
    if engine.dialect.name == "sqlite":
        assert first == {("repository", repository)}
    assert ("commit", c4) in second and ("repository", repository) not in second
    assert gold_agrees_with_silver(engine)[0]

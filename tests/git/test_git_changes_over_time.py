"""What happens between syncs: interrupted runs, unshallowing, .mailmap edits, verdicts, tags."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from diogen.connectors.base import Checkpoint, Prepared, RawItem, StoredKeys
from diogen.connectors.git import GitConfig, GitConnector, prepare
from diogen.db import session_scope
from diogen.ingest.runner import SyncResult, run_sync
from diogen.silver import Commit, Deployment, Identity
from diogen.testing.fastimport import FastCommit, fast_import
from diogen.testing.gitrepo import GitRepo

Sync = Callable[..., SyncResult]
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


class StopsAfter(GitConnector):
    """A git connector whose run is cut off (as by Ctrl-C, or `stop`) after `limit` commits.

    Commits come in prepared chunks; the tests using it read one commit per chunk
    (`one_commit_per_chunk`), so that the cut falls between two commits."""

    def __init__(
        self, config: GitConfig, limit: int, stop: type[BaseException] = KeyboardInterrupt
    ) -> None:
        super().__init__(config)
        self.limit = limit
        self.stop = stop

    def fetch(
        self, cursors: Mapping[str, dict[str, Any]], stored: StoredKeys
    ) -> Iterator[RawItem | Prepared | Checkpoint]:
        seen = 0
        for item in super().fetch(cursors, stored):
            seen += len(item.records) if isinstance(item, Prepared) else 0
            if seen > self.limit:
                raise self.stop("stopped")
            yield item


@pytest.fixture
def one_commit_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepare, "CHUNK_SIZE", 1)


def reachability(engine: Engine) -> dict[str, bool]:
    with session_scope(engine) as session:
        return dict(session.execute(select(Commit.sha, Commit.reachable)).all())


def test_interrupted_first_sync_resumes_and_reconciles_reachability(
    tmp_path: Path, engine: Engine, sync: Sync, one_commit_per_chunk: None
) -> None:
    history = [
        FastCommit(f"c{i}", 1_700_000_000 + i * 60, {"f": f"{i}\n".encode()}) for i in range(30)
    ]
    history += [
        FastCommit(f"side{i}", 1_700_010_000 + i, {"s": b"x\n"}, branch="side") for i in range(5)
    ]
    fast_import(tmp_path / "r", history)
    config = GitConfig(location=str(tmp_path / "r"), name="r", jobs=1)
    with pytest.raises(KeyboardInterrupt):
        run_sync(engine, StopsAfter(config, 20), batch_size=10)
    kept = set(reachability(engine))
    assert 0 < len(kept) < 35
    main = subprocess.run(
        ["git", "-C", str(tmp_path / "r"), "rev-list", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    subprocess.run(
        ["git", "-C", str(tmp_path / "r"), "branch", "-D", "side"], check=True, capture_output=True
    )
    result = sync(tmp_path / "r", name="r", jobs=1)
    assert result.summary["commits_to_read"] == len(set(main) - kept)  # only what was missing
    stored = reachability(engine)
    assert {sha for sha, reachable in stored.items() if reachable} == set(main)
    assert set(stored) == set(main) | kept


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit, RuntimeError])
def test_whatever_stops_a_sync_the_batches_read_before_are_kept(
    tmp_path: Path, engine: Engine, stop: type[BaseException], one_commit_per_chunk: None
) -> None:
    # Two full batches (20 records) were handed to the writer before the stop; both are
    # written, however far behind the writer thread was: what a failed run keeps must not
    # depend on timing.
    history = [
        FastCommit(f"c{i}", 1_700_000_000 + i * 60, {"f": f"{i}\n".encode()}) for i in range(30)
    ]
    fast_import(tmp_path / "r", history)
    config = GitConfig(location=str(tmp_path / "r"), name="r", jobs=1)
    with pytest.raises(stop):
        run_sync(engine, StopsAfter(config, 20, stop), batch_size=10)
    assert len(reachability(engine)) == 18  # the first batch also held the repository and main


def test_unshallowing_reads_the_history_it_was_missing(
    tmp_path: Path, engine: Engine, sync: Sync
) -> None:
    source = GitRepo(tmp_path / "src")
    for i in range(4):
        source.commit(f"c{i}", T0 + timedelta(hours=i), files={"f.txt": "line\n" * (i + 1)})
    source.tag("v1.0.0", when=T0 + timedelta(hours=1, minutes=30), message="first", ref="HEAD~2")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "2", f"file://{source.path}", str(clone)], check=True
    )
    sync(clone)
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "--unshallow", "--tags"], check=True)
    sync(clone)
    with session_scope(engine) as session:
        stats = dict(session.execute(select(Commit.subject, Commit.additions)).all())
        releases = session.scalars(select(Deployment.ref_name)).all()
    assert stats == {"c0": 1, "c1": 1, "c2": 1, "c3": 1}
    assert releases == ["v1.0.0"]


def test_mailmap_added_later_merges_existing_identities(
    tmp_path: Path, engine: Engine, sync: Sync
) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("a", T0, author=("Me", "me@work.example"))
    repo.commit("b", T0 + timedelta(hours=1), author=("me", "me@home.example"))
    sync(repo.path)
    repo.commit(
        "mailmap",
        T0 + timedelta(hours=2),
        files={".mailmap": "Me <me@work.example> <me@home.example>\n"},
    )
    sync(repo.path)
    with session_scope(engine) as session:
        people = dict(session.execute(select(Identity.email, Identity.person_id)).all())
    assert people["me@work.example"] == people["me@home.example"]


def test_a_persons_verdict_survives_resync(tmp_path: Path, engine: Engine, sync: Sync) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("a", T0)
    repo.tag("v1.0.0")
    sync(repo.path)
    with session_scope(engine) as session:
        session.execute(update(Deployment).values(marked_failed=True))
    repo.commit("b", T0 + timedelta(hours=1))
    repo.tag("v1.1.0")
    sync(repo.path)
    with session_scope(engine) as session:
        verdicts = dict(
            session.execute(select(Deployment.ref_name, Deployment.marked_failed)).all()
        )
    assert verdicts == {"v1.0.0": True, "v1.1.0": None}


def test_release_tags_on_one_commit_are_one_release(
    tmp_path: Path, engine: Engine, sync: Sync
) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("a", T0)
    repo.tag("v2.1.0", when=T0 + timedelta(hours=2), message="patch-level name")
    repo.tag("v2.1", when=T0 + timedelta(hours=1), message="short name, tagged first")
    result = sync(repo.path)
    with session_scope(engine) as session:
        deployments = session.execute(select(Deployment.ref_name, Deployment.finished_at)).all()
    assert deployments == [("v2.1", T0 + timedelta(hours=1))]
    assert result.summary["release_tags_on_released_commits"] == 1


def test_nested_annotated_tag_is_a_release(tmp_path: Path, engine: Engine, sync: Sync) -> None:
    repo = GitRepo(tmp_path / "r")
    sha = repo.commit("a", T0)
    repo.tag("inner", when=T0 + timedelta(hours=1), message="inner")
    repo.tag("v1.0.0", when=T0 + timedelta(hours=2), message="outer", ref="inner")
    sync(repo.path)
    with session_scope(engine) as session:
        assert session.execute(select(Deployment.sha, Deployment.finished_at)).all() == [
            (sha, T0 + timedelta(hours=2))
        ]


def test_each_commit_keeps_the_names_written_in_it(
    tmp_path: Path, engine: Engine, sync: Sync
) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("a", T0, author=("Jörg", "t@x.example"), committer=("T", "t@x.example"))
    repo.commit(
        "b",
        T0 + timedelta(hours=1),
        author=("J. Öst", "t@x.example"),
        committer=("T", "t@x.example"),
    )
    sync(repo.path)
    with session_scope(engine) as session:
        names = dict(session.execute(select(Commit.subject, Commit.author_name)).all())
    assert names == {"a": "Jörg", "b": "J. Öst"}

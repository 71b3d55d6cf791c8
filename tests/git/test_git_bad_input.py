"""The issue's bad-input list: each case works, or fails with one clear line and exit code 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from diogen.db import make_engine, session_scope
from diogen.ingest.models import SyncRun
from diogen.silver import Commit, CommitFile, Deployment, DeploymentCommit
from diogen.testing.fastimport import FastCommit, fast_import
from diogen.testing.gitrepo import GitRepo

DIOGEN = str(Path(sys.executable).parent / "diogen")
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def diogen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIOGEN_CACHE_DIR": str(cwd or Path.cwd()) + "/.cache"}
    return subprocess.run(
        [DIOGEN, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def linear_history(count: int, start: int = 1_700_000_000, tag_every: int = 0) -> list[FastCommit]:
    return [
        FastCommit(
            f"change {i}",
            start + i * 600,
            {f"pkg{i % 20}/mod{i % 97}.py": f"{i}\n".encode() * (i % 5 + 1)},
            author=(f"Dev {i % 7}", f"dev{i % 7}@example.com"),
            tag=f"v1.{i}.0" if tag_every and i % tag_every == tag_every - 1 else None,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("target", ["missing", "file", "plain-dir"])
def test_not_a_repository_is_one_line(tmp_path: Path, sqlite_url: str, target: str) -> None:
    path = tmp_path / target
    if target == "file":
        path.write_text("x")
    elif target == "plain-dir":
        path.mkdir()
    line = one_error_line(diogen("sync", "git", str(path), "--database", sqlite_url, cwd=tmp_path))
    assert str(path) in line


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("a", T0)
    line = one_error_line(
        diogen(
            "sync",
            "git",
            str(repo.path),
            "--database",
            "postgresql://nobody@127.0.0.1:1/nothing",
            cwd=tmp_path,
        )
    )
    assert "cannot connect to database" in line
    line = one_error_line(
        diogen(
            "sync",
            "git",
            str(repo.path),
            "--database",
            f"sqlite:///{tmp_path}/no/such/dir/x.db",
            cwd=tmp_path,
        )
    )
    assert "does not exist" in line


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    assert diogen("sync", "git", cwd=tmp_path).returncode == 2
    assert diogen("sync", "git", ".", "--jobs", "0", cwd=tmp_path).returncode == 2


def test_empty_repository_and_no_tags(tmp_path: Path, sqlite_url: str) -> None:
    empty = GitRepo(tmp_path / "empty")
    result = diogen("sync", "git", str(empty.path), "--database", sqlite_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    untagged = GitRepo(tmp_path / "untagged")
    untagged.commit("a", T0)
    result = diogen("sync", "git", str(untagged.path), "--database", sqlite_url, cwd=tmp_path)
    assert result.returncode == 0 and "1 commits read, 0 releases" in result.stderr


def test_bare_repository_with_spaces_and_non_ascii_path(
    tmp_path: Path, engine: Engine, sync
) -> None:  # type: ignore[no-untyped-def]
    source = GitRepo(tmp_path / "src")
    source.commit("a", T0, files={"ünï cødé/f ile.txt": "1\n"})
    source.tag("v1.0.0")
    bare = tmp_path / "dir with spaces ∂" / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(source.path), str(bare)], check=True)
    sync(bare, name="bare")
    with session_scope(engine) as session:
        assert session.scalars(select(CommitFile.path)).all() == ["ünï cødé/f ile.txt"]
        assert session.scalar(select(func.count()).select_from(Deployment)) == 1


def test_shallow_clone_boundary_has_no_stats(tmp_path: Path, engine: Engine, sync) -> None:  # type: ignore[no-untyped-def]
    source = GitRepo(tmp_path / "src")
    for i in range(4):
        source.commit(f"c{i}", T0 + timedelta(hours=i), files={"f.txt": "line\n" * (i + 1)})
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "2", f"file://{source.path}", str(clone)], check=True
    )
    result = sync(clone)
    assert result.summary["shallow_boundary_commits"] == 1
    with session_scope(engine) as session:
        stats = dict(session.execute(select(Commit.subject, Commit.additions)).all())
    assert stats == {"c3": 1, "c2": None}


def test_file_url_is_cloned_then_fetched(tmp_path: Path, engine: Engine, sync) -> None:  # type: ignore[no-untyped-def]
    upstream = GitRepo(tmp_path / "upstream")
    first = upstream.commit("a", T0)
    upstream.checkout("gone", create=True)
    gone = upstream.commit("on a branch that will be deleted", T0 + timedelta(hours=1))
    upstream.checkout("main")
    url = f"file://{upstream.path}"
    assert sync(url, name="up").summary["commits"] == 2
    upstream.git("branch", "-D", "gone")
    second = upstream.commit("b", T0 + timedelta(hours=2))
    result = sync(url, name="up")
    assert result.summary["commits"] == 1
    with session_scope(engine) as session:
        assert dict(session.execute(select(Commit.sha, Commit.reachable)).all()) == {
            first: True,
            second: True,
            gone: False,
        }


def test_odd_encodings(tmp_path: Path, engine: Engine, sync) -> None:  # type: ignore[no-untyped-def]
    repo = GitRepo(tmp_path / "r")
    repo.git("config", "i18n.commitEncoding", "ISO-8859-1")
    (repo.path / "msg").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    env = {
        "GIT_AUTHOR_NAME": "Jos\xe9".encode("latin-1").decode("latin-1"),
        "GIT_AUTHOR_DATE": T0.isoformat(),
        "GIT_COMMITTER_DATE": T0.isoformat(),
    }
    repo.git("commit", "-q", "--allow-empty", "-F", "msg", env=env)
    # Invalid UTF-8 with no encoding header: git passes the bytes through; we must not choke.
    fast_import(tmp_path / "raw", [FastCommit("ok", 1_700_000_000, {"a": b"1\n"})])
    raw = tmp_path / "raw"
    tree = subprocess.run(
        ["git", "-C", str(raw), "write-tree"], capture_output=True, text=True, check=True
    ).stdout.strip()
    body = (
        f"tree {tree}\nauthor Bad \xff\xfe Name <b@x> 1700000000 +0000\n"
        "committer C <c@x> 1700000000 +0000\n\nmsg \xff\n"
    ).encode("latin-1")
    sha = (
        subprocess.run(
            ["git", "-C", str(raw), "hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
            input=body,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    subprocess.run(["git", "-C", str(raw), "update-ref", "refs/heads/odd", sha], check=True)
    assert sync(repo.path, name="latin").rejected == 0
    assert sync(raw, name="raw").rejected == 0
    with session_scope(engine) as session:
        subjects = set(session.scalars(select(Commit.subject)))
    assert "café crème" in subjects
    assert "msg \ufffd" in subjects


def test_commit_touching_100000_files(tmp_path: Path, engine: Engine, sync) -> None:  # type: ignore[no-untyped-def]
    files: dict[str, bytes | None] = {f"d{i // 1000}/f{i}.txt": b"x\n" for i in range(100_000)}
    fast_import(tmp_path / "big", [FastCommit("huge", 1_700_000_000, files)])
    sync(tmp_path / "big", name="big")
    with session_scope(engine) as session:
        commit = session.scalars(select(Commit)).one()
        stored = session.scalar(select(func.count()).select_from(CommitFile))
    assert (commit.files_changed, commit.additions, stored) == (100_000, 100_000, 100_000)


def test_parallel_and_serial_reads_store_the_same(tmp_path: Path, sync, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    fast_import(tmp_path / "many", linear_history(2600, tag_every=400))
    serial = sync(tmp_path / "many", name="serial", jobs=1)
    parallel = sync(tmp_path / "many", name="parallel", jobs=2)
    assert serial.summary["commits"] == parallel.summary["commits"] == 2600
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                Commit.repository_id,
                func.count(),
                func.sum(Commit.additions),
                func.count(DeploymentCommit.id),
            )
            .outerjoin(DeploymentCommit, DeploymentCommit.commit_id == Commit.id)
            .group_by(Commit.repository_id)
        ).all()
    assert len(rows) == 2 and rows[0][1:] == rows[1][1:]


@pytest.mark.slow
def test_kill_9_mid_sync_then_resume(tmp_path: Path, sqlite_url: str) -> None:
    fast_import(tmp_path / "repo", linear_history(12_000, tag_every=1000))
    process = subprocess.Popen(
        [DIOGEN, "sync", "git", str(tmp_path / "repo"), "--database", sqlite_url],
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    engine = make_engine(sqlite_url)
    _pause_after_first_batch(engine, process.pid, 12_000)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = _stored(engine)
    assert 0 < partial < 12_000, "the kill must land mid-sync"
    result = diogen("sync", "git", str(tmp_path / "repo"), "--database", sqlite_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Commit)) == 12_000
        assert session.scalar(select(func.count(func.distinct(Commit.sha)))) == 12_000
        assert session.scalar(select(func.count()).select_from(DeploymentCommit)) == 12_000
        assert session.scalar(text("PRAGMA integrity_check")) == "ok"
        statuses = sorted(session.scalars(select(SyncRun.status)))
    # The killed run never recorded its end; the next sync, finding its lock free, marks it.
    assert statuses == ["abandoned", "succeeded"]


def test_ctrl_c_is_recorded_and_exits_130(tmp_path: Path, sqlite_url: str) -> None:
    fast_import(tmp_path / "repo", linear_history(12_000))
    process = subprocess.Popen(
        [DIOGEN, "sync", "git", str(tmp_path / "repo"), "--database", sqlite_url],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    engine = make_engine(sqlite_url)
    _pause_after_first_batch(engine, process.pid, 12_000)
    process.send_signal(signal.SIGINT)  # delivered as the sync resumes, mid-sync
    os.kill(process.pid, signal.SIGCONT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().startswith("interrupted")
    with session_scope(engine) as session:
        assert session.scalars(select(SyncRun.status)).one() == "interrupted"


def _pause_after_first_batch(engine: Engine, pid: int, commits: int) -> None:
    """Stops the child sync (SIGSTOP) once it has committed some commits, and not all: the
    signal sent next lands mid-sync. Sent while it ran on, a SIGINT once came after a loaded
    machine's sync had finished the rest (exit 0 where 130 was expected)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _stored(engine) == 0:
        time.sleep(0.05)
    os.kill(pid, signal.SIGSTOP)
    assert 0 < _stored(engine) < commits, "the sync must be stopped mid-way"


def _stored(engine: Engine) -> int:
    try:
        with session_scope(engine) as session:
            return int(session.scalar(select(func.count()).select_from(Commit)) or 0)
    except Exception:
        return 0


def test_two_repositories_under_one_name_are_refused(tmp_path: Path, sqlite_url: str) -> None:
    for side in ("a", "b"):
        GitRepo(tmp_path / side / "app").commit(side, T0)
    first = diogen(
        "sync", "git", str(tmp_path / "a" / "app"), "--database", sqlite_url, cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    clash = diogen(
        "sync", "git", str(tmp_path / "b" / "app"), "--database", sqlite_url, cwd=tmp_path
    )
    assert clash.returncode == 2
    assert clash.stderr == (
        f"error: repository 'app' is already synced from {tmp_path / 'a' / 'app'}; "
        f"pass --name to keep {tmp_path / 'b' / 'app'} under another name\n"
    )
    twice = diogen(
        "sync",
        "git",
        str(tmp_path / "a" / "app"),
        "--name",
        "again",
        "--database",
        sqlite_url,
        cwd=tmp_path,
    )
    assert twice.returncode == 2 and "already synced as 'app'" in twice.stderr
    other = diogen(
        "sync",
        "git",
        str(tmp_path / "b" / "app"),
        "--name",
        "app-b",
        "--database",
        sqlite_url,
        cwd=tmp_path,
    )
    assert other.returncode == 0, other.stderr


def test_control_characters_and_markup_in_names(tmp_path: Path, sqlite_url: str) -> None:
    repo = GitRepo(tmp_path / "[red]proj")
    repo.commit(
        "message with \x1e and \x1f",
        T0,
        author=("Ev\x1fil \x1c", "e@example.com"),
        files={"pa\x1eth.txt": "x\n"},
    )
    repo.tag("rel\u2028x")
    repo.git("tag", "-a", "v1.0.0", "-m", "m", env={"GIT_COMMITTER_NAME": "Tag\x1cger"})
    result = diogen(
        "sync", "git", str(repo.path), "--name", "x[/b]:cl:", "--database", sqlite_url, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("git:x[/b]:cl:: 1 commits read, 1 releases")
    export = diogen(
        "export", "commit_files", "--database", sqlite_url, "--format", "jsonl", cwd=tmp_path
    )
    assert '"path": "pa\\u001eth.txt"' in export.stdout


def test_git_directory_of_a_work_tree_is_accepted(tmp_path: Path, sqlite_url: str) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("a", T0)
    result = diogen(
        "sync",
        "git",
        str(repo.path / ".git"),
        "--name",
        "r",
        "--database",
        sqlite_url,
        cwd=tmp_path,
    )
    assert result.returncode == 0 and "1 commits read" in result.stderr


def test_failed_clone_says_why(tmp_path: Path, sqlite_url: str) -> None:
    line = one_error_line(
        diogen("sync", "git", f"file://{tmp_path}/nothing", "--database", sqlite_url, cwd=tmp_path)
    )
    assert (
        line
        == f"error: git clone failed: '{tmp_path}/nothing' does not appear to be a git repository"
    )

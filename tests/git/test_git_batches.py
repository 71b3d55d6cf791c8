"""Batch size: the git connector writes in larger transactions than the runner's default, and
how a history is cut into transactions never changes what is stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from diogen.connectors.git import GitConfig, GitConnector, prepare
from diogen.db import make_engine
from diogen.ingest.runner import BATCH_SIZE, run_sync
from diogen.migrations import upgrade
from diogen.testing.fastimport import FastCommit, fast_import

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
COMMITS = 40


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Commits on two branches, merges and release tags; one commit per reader chunk, so that
    batches can end between any two commits."""
    monkeypatch.setattr(prepare, "CHUNK_SIZE", 1)
    commits = []
    for i in range(COMMITS):
        branch = "topic" if i % 5 == 3 else "main"
        commits.append(
            FastCommit(
                f"c{i}",
                1_700_000_000 + i * 3600,
                {f"src/{branch}/{i % 7}.py": f"{i}\n".encode(), "README": f"r{i}\n".encode()},
                author=(f"Dev {i % 3}", f"dev{i % 3}@example.com"),
                branch=branch,
                merge_from="topic" if branch == "main" and i % 5 == 4 else None,
                tag=f"v1.{i}.0" if branch == "main" and i % 9 == 8 else None,
            )
        )
    fast_import(tmp_path / "r", commits)
    return tmp_path / "r"


def connector(repo: Path, tmp_path: Path) -> GitConnector:
    return GitConnector(
        GitConfig(location=str(repo), name="r", jobs=1, cache_dir=tmp_path / "cache")
    )


def fresh_sqlite(path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


def every_row(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table: sorted(
                connection.execute(text(f'SELECT * FROM "{table}"')).all(),
                key=repr,
            )
            for table in inspect(engine).get_table_names()
        }


def test_one_large_batch_and_many_small_ones_store_the_same_rows(
    history: Path, tmp_path: Path
) -> None:
    stored = []
    for name, batch_size in (("small", 3), ("default", None)):
        for engine in fresh_sqlite(tmp_path / f"{name}.db"):
            run_sync(engine, connector(history, tmp_path), clock=lambda: T0, batch_size=batch_size)
            stored.append(every_row(engine))
    small, large = stored
    assert len(small["git_commit"]) == COMMITS
    assert small["deployment_commit"] and small["commit_file"] and small["outbox_event"]
    assert small == large


def test_a_git_sync_writes_in_the_connectors_batches(
    engine: Engine, history: Path, tmp_path: Path
) -> None:
    assert GitConnector.batch_size > BATCH_SIZE
    git = connector(history, tmp_path)
    git.batch_size = 10  # the runner reports progress after each full batch
    full_batches: list[dict[str, int]] = []
    result = run_sync(engine, git, progress=full_batches.append)
    # The repository and its refs are records too, written in the first batch.
    assert len(full_batches) == result.records // 10
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM git_commit")).scalar() == COMMITS

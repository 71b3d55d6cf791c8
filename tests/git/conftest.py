"""Fixtures for git tests: a migrated database engine and a sync function bound to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from diogen.connectors.git import GitConfig, GitConnector
from diogen.ingest.runner import SyncResult, run_sync

Sync = Callable[..., SyncResult]


@pytest.fixture
def sync(engine: Engine, tmp_path: Path) -> Sync:
    """sync(path_or_url, name=..., **GitConfig fields) runs one git sync into `engine`."""

    def run(location: Path | str, name: str = "repo", **options: Any) -> SyncResult:
        config = GitConfig(
            location=str(location), name=name, cache_dir=tmp_path / "cache", **options
        )
        return run_sync(engine, GitConnector(config))

    return run

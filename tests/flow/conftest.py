"""A migrated database (SQLite and PostgreSQL) and a session on it for every flow test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flow_support import migrated_engine
from sqlalchemy import Engine
from sqlalchemy.orm import Session


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = migrated_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session

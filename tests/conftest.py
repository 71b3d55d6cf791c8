"""Shared fixtures: databases on SQLite and PostgreSQL, and the rule that CI never skips a service.

Set DIOGEN_REQUIRE_SERVICES=1 (as .ci/run does) to turn "service absent" skips into failures.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

POSTGRES_URL = os.environ.get(
    "DIOGEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SHARED_DATA = Path(
    os.environ.get("DIOGEN_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data")
)


def services_required() -> bool:
    return os.environ.get("DIOGEN_REQUIRE_SERVICES", "") not in ("", "0", "false")


def service_unavailable(reason: str) -> None:
    """Skip, or fail when services are required, because a service the test needs is absent."""
    if services_required():
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


def _postgres_admin_url() -> str:
    return POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a fresh, empty schema in the test PostgreSQL database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(_postgres_admin_url(), connect_args={"connect_timeout": 3})
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        service_unavailable(f"PostgreSQL at {POSTGRES_URL} unreachable: {exc.__class__.__name__}")
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'diogen.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on the models' schema (`create_all`), on each engine; flushes are the
    tests' own, nothing commits (test files needing another session override it)."""
    from test_metrics_support import engine_for

    engine = engine_for(database_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database, on each engine (test files needing another schema override it)."""
    from diogen.db import make_engine
    from diogen.migrations import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party payloads not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(params=["silver", "gold"])
def matching_source(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a metrics test twice: with gold stale (reports compute the commit ↔ pull request
    matching from silver) and with gold refreshed after every flush (reports read it from
    gold rows), so every scenario proves both give the same numbers."""
    if request.param == "silver":
        yield "silver"
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from diogen.metrics.gold import refresh_gold

    def refresh(session: Session, _context: object) -> None:
        refresh_gold(session)

    event.listen(Session, "after_flush_postexec", refresh)
    try:
        yield "gold"
    finally:
        event.remove(Session, "after_flush_postexec", refresh)

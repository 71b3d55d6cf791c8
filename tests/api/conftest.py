"""Fixtures of the API tests: a world (app, database, users of every role) per test, or one
per module and database for the authorisation matrix, whose hundreds of cases would otherwise
each migrate a database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from api_support import World, make_world, root_conftest
from sqlalchemy import create_engine, text


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    made = make_world(database_url)
    yield made
    made.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Like `world`, shared by a module's tests, on SQLite and on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        made = make_world(f"sqlite:///{tmp_path_factory.mktemp('api') / 'diogen.db'}")
        yield made
        made.close()
        return
    shared = root_conftest(request.config)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin_url = shared.POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        admin = create_engine(admin_url, connect_args={"connect_timeout": 3})
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        shared.service_unavailable(f"PostgreSQL unreachable: {exc.__class__.__name__}")
    made = make_world(f"{shared.POSTGRES_URL}?options=-csearch_path%3D{schema}")
    yield made
    made.close()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()

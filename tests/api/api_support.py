"""Builders for the API tests: a migrated database, the app on it, users of every role in two
organisations, and fresh silver rows in either organisation. No tests live here."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis, RedisError
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from diogen.accounts.models import User
from diogen.accounts.passwords import hash_password
from diogen.accounts.roles import ROLES
from diogen.accounts.tokens import issue_access_token
from diogen.accounts.users import grant_role
from diogen.api import create_app
from diogen.api.state import ApiState
from diogen.config import load_settings
from diogen.db import make_engine, session_scope
from diogen.ids import stable_id
from diogen.migrations import HEAD, target_metadata
from diogen.silver import (
    Commit,
    Deployment,
    Identity,
    Incident,
    Organization,
    Person,
    Repository,
    Service,
    Team,
    TeamMembership,
)

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
ORGS = ("alpha", "beta")
_names = itertools.count()
# argon2 is slow on purpose; one hash serves every test user (create_user has its own tests).
PASSWORD_HASH = hash_password(PASSWORD)


def add_user(session: Session, email: str, *, superuser: bool = False) -> User:
    user = User(
        id=stable_id("test", "user", email),
        email=email,
        password_hash=PASSWORD_HASH,
        is_superuser=superuser,
        is_active=True,
        created_at=NOW,
    )
    session.add(user)
    session.flush()
    return user


def settings_for(url: str, **overrides: Any) -> Any:
    # No diogen.toml of the developer's may leak in: every setting the tests rely on is given.
    limits = {"rate_limit_per_minute": 100_000, "ip_rate_limit_per_minute": 100_000}
    return load_settings(None, database_url=url, **{**limits, **overrides})


@dataclass
class World:
    """Two organisations; in each an admin, a maintainer and a viewer; one instance admin."""

    client: TestClient
    engine: Engine
    org_ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # "alpha:viewer", "root" → token
    user_ids: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> ApiState:
        state: ApiState = self.client.app.state.diogen  # type: ignore[attr-defined]
        return state

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, url: str, **kwargs: Any) -> Any:
        return self.client.get(
            url, headers={**self.headers(who), **kwargs.pop("headers", {})}, **kwargs
        )

    def session(self) -> Any:
        return session_scope(self.engine)

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.engine.dispose()


def create_schema(engine: Engine) -> None:
    """The schema at HEAD, built from the models: several times faster than running the
    migrations, and the same schema (tests/test_migrations.py checks that)."""
    target_metadata().create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        )
        connection.execute(text("INSERT INTO alembic_version VALUES (:head)"), {"head": HEAD})


def make_world(url: str, *, warm: bool = False, **overrides: Any) -> World:
    engine = make_engine(url)
    create_schema(engine)
    app = create_app(settings_for(url, **overrides), clock=lambda: NOW, warm=warm)
    client = TestClient(app)
    # Entered once: one event loop thread for all requests (and the app's lifespan runs).
    client.__enter__()
    world = World(client=client, engine=engine)
    key = world.state.signing_key()
    with session_scope(engine) as session:
        root = add_user(session, "root@example.com", superuser=True)
        world.user_ids["root"] = root.id
        world.tokens["root"] = issue_access_token(root.id, key, now=NOW, minutes=60)
        for name in ORGS:
            org = Organization(id=stable_id("test", "org", name), name=name, source="test")
            session.add(org)
            session.flush()
            world.org_ids[name] = org.id
            for role in ROLES:
                user = add_user(session, f"{role}@{name}.example")
                grant_role(session, user.id, org.id, role, now=NOW)
                world.user_ids[f"{name}:{role}"] = user.id
                world.tokens[f"{name}:{role}"] = issue_access_token(
                    user.id, key, now=NOW, minutes=60
                )
        bystander = add_user(session, "bystander@example.com")
        world.user_ids["bystander"] = bystander.id
    return world


@dataclass
class Rows:
    """Fresh rows of one organisation, named uniquely, for one test case to act on."""

    org_id: str
    team: str
    repo: str
    repo_name: str
    service: str
    person: str
    other_person: str
    identity: str
    email: str
    membership: str
    deployment: str
    incident: str
    commit: str


def seed(session: Session, org_id: str) -> Rows:
    n = next(_names)
    tag = f"{n}-{org_id[:6]}"
    team = Team(
        id=stable_id("test", "team", tag), organization_id=org_id, name=f"team-{tag}", source="test"
    )
    repo = Repository(
        id=stable_id("test", "repo", tag),
        organization_id=org_id,
        provider="git",
        name=f"repo-{tag}",
        source="test",
    )
    service = Service(
        id=stable_id("test", "service", tag),
        organization_id=org_id,
        name=f"svc-{tag}",
        source="test",
    )
    session.add_all([team, repo, service])
    session.flush()
    people = []
    for i in range(2):
        email = f"dev{i}-{tag}@example.com"
        person = Person(
            id=stable_id("test", "person", tag, i),
            display_name=f"Dev {tag}",
            primary_email=email,
            is_bot=False,
        )
        identity = Identity(
            id=stable_id("test", "identity", tag, i),
            person_id=person.id,
            provider="git",
            key=email,
            email=email,
            name=f"Dev {tag}",
            is_bot=False,
            person_locked=False,
            source="git",
        )
        # No ORM relationships: flush each parent before the rows pointing at it.
        session.add(person)
        session.flush()
        session.add(identity)
        session.flush()
        commit = Commit(
            id=stable_id("test", "commit", tag, i),
            repository_id=repo.id,
            sha=f"{tag}-{i}",
            parents="",
            author_identity_id=identity.id,
            author_name="Dev",
            author_email=email,
            committer_name="Dev",
            committer_email=email,
            authored_at=NOW - timedelta(days=3),
            author_tz_offset=0,
            committed_at=NOW - timedelta(days=3),
            committer_tz_offset=0,
            subject="s",
            message="s",
            is_merge=False,
            reachable=True,
        )
        session.add(commit)
        people.append((person, identity, email, commit.id))
    membership = TeamMembership(
        id=stable_id("test", "membership", tag),
        team_id=team.id,
        person_id=people[0][0].id,
        valid_from=NOW - timedelta(days=30),
    )
    deployment = Deployment(
        id=stable_id("test", "deployment", tag),
        repository_id=repo.id,
        environment="production",
        sha=f"{tag}-1",
        status="success",
        finished_at=NOW - timedelta(days=1),
        is_rollback=False,
        source="test",
        external_id=tag,
    )
    session.add_all([membership, deployment])
    session.flush()
    incident = Incident(
        id=stable_id("test", "incident", tag),
        service_id=service.id,
        started_at=NOW - timedelta(hours=20),
        source="test",
        external_id=tag,
    )
    session.add(incident)
    session.flush()
    return Rows(
        org_id=org_id,
        team=team.id,
        repo=repo.id,
        repo_name=repo.name,
        service=service.id,
        person=people[0][0].id,
        other_person=people[1][0].id,
        identity=people[0][1].id,
        email=people[0][2],
        membership=membership.id,
        deployment=deployment.id,
        incident=incident.id,
        commit=people[1][3],
    )


def new_organization(session: Session) -> str:
    """A throwaway organisation, for cases that may delete theirs."""
    name = f"org-{next(_names)}"
    org = Organization(id=stable_id("test", "org", name), name=name, source="test")
    session.add(org)
    session.flush()
    return org.id


ROOT_CONFTEST = Path(__file__).parents[1] / "conftest.py"


def root_conftest(config: pytest.Config) -> ModuleType:
    module = config.pluginmanager.get_plugin(str(ROOT_CONFTEST))
    assert isinstance(module, ModuleType)
    return module


def redis_url(database: int | None = None) -> str:
    """The tests' Redis (DIOGEN_TEST_REDIS_URL), on another of its databases if given."""
    url = os.environ.get("DIOGEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return url if database is None else f"{url.rsplit('/', 1)[0]}/{database}"


@contextmanager
def clean_redis(config: pytest.Config, database: int) -> Iterator[Redis]:
    """The tests' Redis on `database`, emptied of Diogen's keys before and after (unreachable:
    skipped, or failed where services are required)."""
    client = Redis.from_url(redis_url(database))
    try:
        client.ping()
    except RedisError as exc:
        root_conftest(config).service_unavailable(f"Redis unreachable: {exc}")
    _forget(client)
    try:
        yield client
    finally:
        _forget(client)
        client.close()


def _forget(client: Redis) -> None:
    """Drop what Diogen keeps in the test database of Redis, and nothing else."""
    keys = client.keys("diogen:*")
    if keys:
        client.delete(*keys)

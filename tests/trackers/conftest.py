"""Fixtures for tracker tests: a migrated database, a fake Jira (Cloud or Server) holding the
golden sprint story, and a sync bound to both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from jira_cases import EMAIL, TOKEN, golden_story
from sqlalchemy import Engine

from diogen.connectors.http import RetryPolicy
from diogen.connectors.jira import JiraConfig, JiraConnector
from diogen.db import make_engine
from diogen.ingest.runner import SyncResult, run_sync
from diogen.migrations import upgrade
from diogen.testing.fake_jira import FakeJira


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["cloud", "server"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def jira(shared_data: Path, flavor: str) -> Iterator[FakeJira]:
    with FakeJira(shared_data, flavor=flavor, email=EMAIL, token=TOKEN) as server:
        golden_story(server)
        yield server


@dataclass
class Sleeper:
    """The injected sleep: records what the client would have waited, waits nothing."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def jira_config(fake: FakeJira, **options: Any) -> JiraConfig:
    options.setdefault("projects", ["DIO"])
    options.setdefault("email", EMAIL)
    options.setdefault("token", TOKEN)
    return JiraConfig(url=fake.url, flavor=fake.flavor, **options)


Sync = Callable[..., SyncResult]


@pytest.fixture
def sync(engine: Engine, jira: FakeJira) -> Sync:
    """sync(transport=..., sleep=..., retry=..., **JiraConfig fields) runs one sync."""

    def run(
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleeper | None = None,
        retry: RetryPolicy | None = None,
        **options: Any,
    ) -> SyncResult:
        connector = JiraConnector(
            jira_config(jira, **options), transport=transport, sleep=sleep or Sleeper(), retry=retry
        )
        return run_sync(engine, connector)

    return run

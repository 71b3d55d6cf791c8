"""Fixtures for tracker tests: a migrated database, a fake Jira (Cloud or Server), a fake
Linear and a fake Asana holding their golden stories, and a sync bound to each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asana_cases import PROJECT as ASANA_PROJECT
from asana_cases import TOKEN as ASANA_TOKEN
from asana_cases import golden_story as asana_story
from jira_cases import EMAIL, TOKEN, golden_story
from linear_cases import API_KEY as LINEAR_KEY
from linear_cases import golden_story as linear_story
from sqlalchemy import Engine
from tracker_support import Sleeper, Sync, jira_config

from diogen.connectors.asana import AsanaConfig, AsanaConnector
from diogen.connectors.http import RetryPolicy
from diogen.connectors.jira import JiraConnector
from diogen.connectors.linear import LinearConfig, LinearConnector
from diogen.ingest.runner import SyncResult, run_sync
from diogen.testing.fake_asana import FakeAsana
from diogen.testing.fake_jira import FakeJira
from diogen.testing.fake_linear import FakeLinear


@pytest.fixture(params=["cloud", "server"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def jira(shared_data: Path, flavor: str) -> Iterator[FakeJira]:
    with FakeJira(shared_data, flavor=flavor, email=EMAIL, token=TOKEN) as server:
        golden_story(server)
        yield server


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


@pytest.fixture
def linear(shared_data: Path) -> Iterator[FakeLinear]:
    with FakeLinear(shared_data, api_key=LINEAR_KEY) as server:
        linear_story(server)
        yield server


@pytest.fixture
def linear_sync(engine: Engine, linear: FakeLinear) -> Sync:
    """linear_sync(transport=..., sleep=..., retry=..., **LinearConfig fields) runs one sync."""

    def run(
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleeper | None = None,
        retry: RetryPolicy | None = None,
        **options: Any,
    ) -> SyncResult:
        options.setdefault("teams", ["ENG"])
        options.setdefault("api_key", LINEAR_KEY)
        config = LinearConfig(api_url=linear.url, **options)
        connector = LinearConnector(
            config, transport=transport, sleep=sleep or Sleeper(), retry=retry
        )
        return run_sync(engine, connector)

    return run


@pytest.fixture
def asana(shared_data: Path) -> Iterator[FakeAsana]:
    with FakeAsana(shared_data, token=ASANA_TOKEN) as server:
        asana_story(server)
        yield server


@pytest.fixture
def asana_sync(engine: Engine, asana: FakeAsana) -> Sync:
    """asana_sync(transport=..., sleep=..., retry=..., **AsanaConfig fields) runs one sync."""

    def run(
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleeper | None = None,
        retry: RetryPolicy | None = None,
        **options: Any,
    ) -> SyncResult:
        options.setdefault("projects", [ASANA_PROJECT])
        options.setdefault("token", ASANA_TOKEN)
        config = AsanaConfig(api_url=asana.url, **options)
        connector = AsanaConnector(
            config, transport=transport, sleep=sleep or Sleeper(), retry=retry
        )
        return run_sync(engine, connector)

    return run

"""The worker's scheduler syncs Jira, Linear and Asana sources that `diogen sync` synced once,
from their stored configuration and the settings' secrets, over real HTTP to the fakes; a
missing secret is a reason shown by `diogen status`, not a crash."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from asana_cases import PROJECT as ASANA_PROJECT
from asana_cases import TOKEN as ASANA_TOKEN
from jira_cases import EMAIL, TOKEN
from linear_cases import API_KEY
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

import diogen.cli.status
import diogen.cli.sync_asana
import diogen.cli.sync_linear
import diogen.cli.sync_trackers  # noqa: F401 - registers `sync jira`
from diogen.cli.app import app
from diogen.config import Settings
from diogen.db import session_scope
from diogen.ingest.models import SyncRun
from diogen.ingest.runner import utcnow
from diogen.processing import scheduler
from diogen.processing.locks import make_locks
from diogen.testing.fake_asana import FakeAsana
from diogen.testing.fake_jira import FakeJira
from diogen.testing.fake_linear import FakeLinear

runner = CliRunner()
CLOUD = pytest.mark.parametrize("flavor", ["cloud"], indirect=True)
SECRETS = ("DIOGEN_JIRA_TOKEN", "DIOGEN_JIRA_EMAIL", "DIOGEN_LINEAR_API_KEY", "DIOGEN_ASANA_TOKEN")


@pytest.fixture(autouse=True)
def no_ambient_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)


def cli_sync(args: list[str], env: dict[str, str]) -> None:
    result = runner.invoke(app, ["sync", *args], env=env)
    assert result.exit_code == 0, result.output


def runs(engine: Engine, source: str) -> list[tuple[str, datetime]]:
    with session_scope(engine) as session:
        return [
            (status, started.replace(tzinfo=None))
            for status, started in session.execute(
                select(SyncRun.status, SyncRun.started_at)
                .where(SyncRun.source == source)
                .order_by(SyncRun.started_at)
            )
        ]


def tick(engine: Engine, url: str, settings: Settings, at: datetime) -> list[str]:
    locks = make_locks(Settings(database_url=url), engine)
    try:
        done = scheduler.run_due(engine, settings, locks, lambda: at, lambda: False, environ={})
    finally:
        locks.close()
    return [result.source for result in done]


def only_source(engine: Engine) -> str:
    with session_scope(engine) as session:
        (source,) = session.scalars(select(SyncRun.source).distinct())
    return source


def scheduled_twice(
    engine: Engine, database_url: str, settings: Settings, requests: Callable[[], int]
) -> None:
    """Synced once by the CLI: not due before its 15 minutes, synced again after them."""
    source = only_source(engine)
    with session_scope(engine) as session:
        planned = scheduler.plan(session, settings, {})
    assert planned.refused == {}
    (job,) = planned.jobs
    assert job.interval == timedelta(minutes=15)
    before = requests()
    now = utcnow()
    assert tick(engine, database_url, settings, now + timedelta(minutes=1)) == []
    assert requests() == before
    later = now + timedelta(minutes=16)
    assert tick(engine, database_url, settings, later) == [source]
    assert requests() > before
    (first, second) = runs(engine, source)
    assert (first[0], second) == ("succeeded", ("succeeded", later.replace(tzinfo=None)))
    assert tick(engine, database_url, settings, later) == []  # ran: not due again


@CLOUD
def test_jira_synced_once_is_scheduled(jira: FakeJira, engine: Engine, database_url: str) -> None:
    cli_sync(
        ["jira", "--url", jira.url, "--cloud", "--project", "DIO", "--database", database_url],
        {"DIOGEN_JIRA_EMAIL": EMAIL, "DIOGEN_JIRA_TOKEN": TOKEN},
    )
    settings = Settings(database_url=database_url, jira_token=SecretStr(TOKEN))
    scheduled_twice(engine, database_url, settings, lambda: len(jira.log))


def test_linear_synced_once_is_scheduled(
    linear: FakeLinear, engine: Engine, database_url: str
) -> None:
    cli_sync(
        ["linear", "--team", "ENG", "--api-url", linear.url, "--database", database_url],
        {"DIOGEN_LINEAR_API_KEY": API_KEY},
    )
    settings = Settings(database_url=database_url, linear_api_key=SecretStr(API_KEY))
    scheduled_twice(engine, database_url, settings, lambda: len(linear.log))


def test_asana_synced_once_is_scheduled(
    asana: FakeAsana, engine: Engine, database_url: str
) -> None:
    cli_sync(
        ["asana", "--project", ASANA_PROJECT, "--api-url", asana.url, "--database", database_url],
        {"DIOGEN_ASANA_TOKEN": ASANA_TOKEN},
    )
    settings = Settings(database_url=database_url, asana_token=SecretStr(ASANA_TOKEN))
    scheduled_twice(engine, database_url, settings, lambda: len(asana.log))


def test_a_missing_secret_is_the_reason_shown_and_nothing_runs(
    asana: FakeAsana, engine: Engine, database_url: str
) -> None:
    cli_sync(
        ["asana", "--project", ASANA_PROJECT, "--api-url", asana.url, "--database", database_url],
        {"DIOGEN_ASANA_TOKEN": ASANA_TOKEN},
    )
    source = only_source(engine)
    settings = Settings(database_url=database_url)
    with session_scope(engine) as session:
        planned = scheduler.plan(session, settings, {})
    assert planned.jobs == []
    assert planned.refused == {source: "no Asana token is set: DIOGEN_ASANA_TOKEN"}
    assert tick(engine, database_url, settings, utcnow() + timedelta(days=1)) == []
    assert len(runs(engine, source)) == 1

    shown = runner.invoke(app, ["status", "--database", database_url])

    assert shown.exit_code == 0, shown.output
    assert (
        "scheduled syncs: cannot be scheduled: no Asana token is set: DIOGEN_ASANA_TOKEN"
        in shown.stdout
    )
    listed = runner.invoke(
        app, ["status", "--database", database_url], env={"DIOGEN_ASANA_TOKEN": ASANA_TOKEN}
    )
    assert "scheduled syncs: every 15 min" in listed.stdout
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(SyncRun)) == 1

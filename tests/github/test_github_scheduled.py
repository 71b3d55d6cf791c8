"""The worker's scheduler syncs a GitHub source that `diogen sync github` synced once, with the
token of the settings (the stored configuration has it masked), over real HTTP to the fake."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from typer.testing import CliRunner

import diogen.cli.sync_github  # noqa: F401 - registers `sync github`
from diogen.cli.app import app
from diogen.config import Settings
from diogen.db import session_scope
from diogen.ingest.bronze import load_cursors, save_cursors
from diogen.ingest.models import SyncRun
from diogen.ingest.runner import CONFIG_CURSOR, utcnow
from diogen.processing import scheduler
from diogen.processing.locks import make_locks
from diogen.testing.fake_github import FakeGitHub

runner = CliRunner()
TOKEN = "ghp_scheduled"


@pytest.fixture(autouse=True)
def no_ambient_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GITHUB_TOKEN", "DIOGEN_GITHUB_TOKEN", "DIOGEN_GITHUB_APP_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIOGEN_CACHE_DIR", str(tmp_path / "cache"))


def synced_once(fake: FakeGitHub, history: tuple[Path, list[str]], url: str) -> str:
    path, shas = history
    fake.add(fake.examples.repository("octo/app", clone_url=str(path), pull_requests=4, shas=shas))
    args = ["sync", "github", "--repo", "octo/app", "--api-url", fake.url, "--database", url]
    result = runner.invoke(app, args, env={"GITHUB_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    return f"github@{fake.url.removeprefix('http://')}"


def test_github_synced_once_is_scheduled_with_the_settings_token(
    fake: FakeGitHub, history: tuple[Path, list[str]], engine: Engine, database_url: str
) -> None:
    source = synced_once(fake, history, database_url)
    settings = Settings(database_url=database_url, github_token=SecretStr(TOKEN))
    with session_scope(engine) as session:
        planned = scheduler.plan(session, settings, {})
    assert [(job.source, job.interval) for job in planned.jobs] == [(source, timedelta(minutes=30))]
    before, now = len(fake.log), utcnow()
    locks = make_locks(settings, engine)
    try:
        soon = scheduler.run_due(
            engine, settings, locks, lambda: now + timedelta(minutes=5), lambda: False, {}
        )
        later = now + timedelta(minutes=31)
        ran = scheduler.run_due(engine, settings, locks, lambda: later, lambda: False, {})
    finally:
        locks.close()

    assert soon == [] and [r.source for r in ran] == [source]
    assert ran[0].summary.get("pull_requests", 0) == 0  # nothing changed: the cursors were kept
    assert {r.token for r in fake.log[before:]} == {TOKEN}
    with session_scope(engine) as session:
        statuses = list(
            session.scalars(
                select(SyncRun.status).where(SyncRun.source == source).order_by(SyncRun.started_at)
            )
        )
    assert statuses == ["succeeded", "succeeded"]


def test_github_token_from_the_environment_and_the_reasons_without_one(
    fake: FakeGitHub, history: tuple[Path, list[str]], engine: Engine, database_url: str
) -> None:
    source = synced_once(fake, history, database_url)
    settings = Settings(database_url=database_url)
    with session_scope(engine) as session:
        by_env = scheduler.plan(session, settings, {"GITHUB_TOKEN": TOKEN})
        none = scheduler.plan(session, settings, {})
        assert [job.source for job in by_env.jobs] == [source]
        assert none.refused == {
            source: "no GitHub token is set: DIOGEN_GITHUB_TOKEN or GITHUB_TOKEN"
        }
        stored = load_cursors(session, source)[CONFIG_CURSOR]
        app = {"app_id": "123", "private_key": "**********", "installation_id": None}
        save_cursors(session, source, {CONFIG_CURSOR: {**stored, "app": app}}, utcnow())
    with session_scope(engine) as session:
        as_app = scheduler.plan(session, settings, {"GITHUB_TOKEN": TOKEN})
        missing_key = Path(database_url.rsplit("/", 1)[-1] + ".missing.pem")
        unreadable = scheduler.plan(
            session, settings.model_copy(update={"github_app_private_key": missing_key}), {}
        )
    assert as_app.refused[source] == (
        "it was synced as a GitHub App and no private key is set: DIOGEN_GITHUB_APP_PRIVATE_KEY"
    )
    assert unreadable.refused[source].startswith(
        f"cannot read the GitHub App private key {missing_key}"
    )

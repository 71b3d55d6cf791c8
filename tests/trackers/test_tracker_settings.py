"""Tracker settings in `diogen.toml` stand in for the sync options (tokens, sites, teams,
projects, points field, incident rules)."""

from __future__ import annotations

from pathlib import Path

import pytest
from asana_cases import PROJECT
from asana_cases import TOKEN as ASANA_TOKEN
from jira_cases import EMAIL, TOKEN
from linear_cases import API_KEY
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import diogen.cli  # noqa: F401 - registers every command
from diogen.cli.app import app
from diogen.db import make_engine
from diogen.silver import Incident, Issue
from diogen.testing.fake_asana import FakeAsana
from diogen.testing.fake_jira import FakeJira
from diogen.testing.fake_linear import FakeLinear

runner = CliRunner()
AMBIENT = ("JIRA_URL", "JIRA_EMAIL", "JIRA_TOKEN", "LINEAR_API_KEY", "ASANA_TOKEN")


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AMBIENT:
        monkeypatch.delenv(f"DIOGEN_{name}", raising=False)


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "diogen.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "d.db"}"\n{text}')
    return path


def issues(tmp_path: Path) -> dict[str, Issue]:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    with Session(engine) as session:
        found = {i.key: i for i in session.scalars(select(Issue))}
        session.expunge_all()
    engine.dispose()
    return found


@pytest.mark.parametrize("flavor", ["cloud"], indirect=True)
def test_jira_from_the_config_file(jira: FakeJira, tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        f'jira_url = "{jira.url}"\njira_email = "{EMAIL}"\njira_token = "{TOKEN}"\n'
        'jira_projects = ["DIO"]\njira_incident_types = []\n'
        'jira_incident_priorities = ["Highest"]\n',
    )
    result = runner.invoke(app, ["sync", "jira", "--cloud", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert len(issues(tmp_path)) == 8
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    with Session(engine) as session:
        (incident,) = session.scalars(select(Incident)).all()
        assert incident.evidence == {"issue": "DIO-7", "rule": "priority:Highest"}
    engine.dispose()


def test_linear_from_the_config_file(linear: FakeLinear, tmp_path: Path) -> None:
    path = config_file(tmp_path, f'linear_api_key = "{API_KEY}"\nlinear_teams = ["ENG"]\n')
    args = ["sync", "linear", "--api-url", linear.url, "--config", str(path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(issues(tmp_path)) == 6


def test_asana_from_the_config_file(asana: FakeAsana, tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        f'asana_token = "{ASANA_TOKEN}"\nasana_projects = ["{PROJECT}"]\n'
        'asana_points_field = "Estimate"\n',
    )
    result = runner.invoke(app, ["sync", "asana", "--api-url", asana.url, "--config", str(path)])
    assert result.exit_code == 0, result.output
    # No field is called "Estimate": no task has points.
    assert {i.story_points for i in issues(tmp_path).values()} == {None}

"""`diogen metrics flow` and `diogen metrics sprint`: the same documents as the Python API."""

from __future__ import annotations

import json

from flow_cases import WINDOW, core_team, issues, pull_requests, sprint
from flow_support import FlowRows
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import diogen.cli.metrics  # noqa: F401 - registers the metrics commands
from diogen.cli.app import app
from diogen.errors import NotFoundError
from diogen.metrics import Scope, flow_report

runner = CliRunner()
WINDOW_ARGS = ["--from", "2024-01-01", "--to", "2024-01-15"]


def test_flow_and_sprint_commands(engine: Engine, database_url: str) -> None:
    rows = FlowRows()
    pull_requests(rows)
    core_team(rows)
    issues(rows)
    sprint(rows)
    with Session(engine) as session:
        rows.write(session)
        session.commit()
        expected = flow_report(session, Scope(repo="api"), WINDOW)

    base = ["metrics", "flow", "--database", database_url, *WINDOW_ARGS]
    result = runner.invoke(app, [*base, "--repo", "api", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["pull_requests"] == expected["pull_requests"]

    table = runner.invoke(app, base)
    assert table.exit_code == 0, table.output
    assert "Flow metrics for the organisation" in table.stdout
    assert "Sprint S1" in table.stdout and "Bottleneck" in table.stdout

    one = runner.invoke(app, ["metrics", "sprint", "S1", "--database", database_url])
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["name"] == "S1"
    missing = runner.invoke(app, ["metrics", "sprint", "S9", "--database", database_url])
    assert isinstance(missing.exception, NotFoundError)

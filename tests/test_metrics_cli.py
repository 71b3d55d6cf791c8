"""`diogen metrics dora` end to end: options, formats and one-line errors."""

from __future__ import annotations

import json
import sys

import pytest
from sqlalchemy.orm import Session
from test_metrics_dora import build_api
from test_metrics_support import Silver
from typer.testing import CliRunner

import diogen.cli.metrics  # noqa: F401 - registers `metrics dora`
from diogen.cli.app import app
from diogen.db import make_engine
from diogen.errors import InputError, NotFoundError
from diogen.migrations import upgrade

runner = CliRunner()
JANUARY = ["--from", "2024-01-01", "--to", "2024-01-29"]


@pytest.fixture
def url(database_url: str) -> str:
    """A migrated database holding the golden "api" repository."""
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        build_api(Silver(session))
        session.commit()
    engine.dispose()
    return database_url


def dora(url: str, *args: str) -> list[str]:
    return ["metrics", "dora", "--database", url, *args]


def test_json_is_the_report_document(url: str) -> None:
    result = runner.invoke(app, dora(url, "--repo", "api", *JANUARY, "--format", "json"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scope"] == {"repo": "api"}
    assert report["window"] == {"from": "2024-01-01T00:00:00Z", "to": "2024-01-29T00:00:00Z"}
    # The same figures as the golden test: 5 deployments, 7 changes, median 24 h.
    assert report["deployment_frequency"]["deployments"] == 5
    assert report["lead_time_for_changes"]["median_hours"] == 24.0
    assert "buckets" not in report and "evidence" not in report


def test_buckets_explain_and_benchmarks(url: str) -> None:
    args = [*JANUARY, "--bucket", "week", "--explain", "--benchmarks", "2021", "--format", "json"]
    result = runner.invoke(app, dora(url, "--repo", "api", *args))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["benchmarks"] == "2021"
    assert [b["deployments"] for b in report["buckets"]] == [3, 1, 0, 1]
    assert len(report["evidence"]["excluded"]) == 5
    # 2021: a median lead time of 24 h is not < 1 h but < 1 week -> high.
    assert report["lead_time_for_changes"]["tier"] == "high"


def test_table_for_people(url: str) -> None:
    result = runner.invoke(app, dora(url, *JANUARY, "--bucket", "week", "--explain"))
    assert result.exit_code == 0, result.output
    assert "DORA metrics for the organisation" in result.stdout
    assert "5 deployments, 1.25/week, 4 deploy days, median week 1.0" in result.stdout
    assert "2024-01-15T00:00:00Z" in result.stdout  # the empty week still has its row
    assert "negative_lead_time" in result.stdout


@pytest.fixture
def clean_url(database_url: str) -> str:
    """A migrated database whose only repository has nothing to exclude and no failure data."""
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        silver = Silver(session)
        repo = silver.repo("clean")
        silver.deploy(repo, "v1", "2024-01-10", commits=[silver.commit(repo, "a", "2024-01-09")])
        session.commit()
    engine.dispose()
    return database_url


def test_table_explain_with_empty_evidence_tables(clean_url: str) -> None:
    result = runner.invoke(app, dora(clean_url, "--repo", "clean", *JANUARY, "--explain"))
    assert result.exit_code == 0, result.output
    # The excluded table has no rows: its header, a rule and "(none)".
    excluded = result.stdout.split("Excluded\n\n", 1)[1].splitlines()
    assert excluded[0].split() == ["Kind", "Row", "Reason", "Detail"]
    assert set(excluded[1].replace(" ", "")) == {"-"}
    assert excluded[2] == "(none)"
    # Without failure data the summary says why instead of a rate, once, under the table.
    assert result.stdout.count("no failure data (see below)") == 2
    assert result.stdout.count("\nNo failure data: the database has no incidents") == 1
    assert "0 of 0" not in result.stdout


def test_benchmarks_default_comes_from_settings(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIOGEN_BENCHMARKS", "2024")
    result = runner.invoke(app, dora(url, *JANUARY, "--format", "json"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["benchmarks"] == "2024"


def test_bad_input_raises_diogen_errors(url: str) -> None:
    result = runner.invoke(app, dora(url, "--from", "yesterday"))
    assert isinstance(result.exception, InputError)
    result = runner.invoke(app, dora(url, "--repo", "nope", *JANUARY))
    assert isinstance(result.exception, NotFoundError)
    assert "known: api" in str(result.exception)


def test_date_past_the_calendar_is_one_clear_line(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from diogen.cli import main

    for args, expected in [
        (["--to", "9999-12-31"], "error: to: '9999-12-31' is out of range"),
        (
            ["--from", "9999-12-30", "--bucket", "month"],
            "error: from: '9999-12-30' is out of range",
        ),
        (["--to", "0001-01-05"], "error: to: '0001-01-05' is out of range"),
    ]:
        monkeypatch.setattr(sys, "argv", ["diogen", *dora(url, *args)])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == 2  # bad usage, not "unexpected OverflowError"
        error = capsys.readouterr().err
        assert error.count("\n") == 1
        assert error.startswith(expected), error


def test_bad_choice_is_a_usage_error(url: str) -> None:
    result = runner.invoke(app, dora(url, "--bucket", "year"))
    assert result.exit_code == 2


def test_entry_point_prints_one_line_and_exits_2(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from diogen.cli import main

    monkeypatch.setattr(sys, "argv", ["diogen", *dora(url, "--to", "31/01/2024")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2  # bad usage (DESIGN.md §6)
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("error: to: '31/01/2024' is not a date")


def test_help() -> None:
    result = runner.invoke(app, ["metrics", "dora", "--help"])
    assert result.exit_code == 0
    for option in ("--repo", "--from", "--to", "--bucket", "--benchmarks", "--explain", "--format"):
        assert option in result.stdout


def test_team_and_service_scopes_from_the_command_line(database_url: str) -> None:
    from test_metrics_pull_requests import build_shop
    from test_metrics_scopes import build_teams

    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        build_teams(Silver(session))
        build_shop(Silver(session))
        session.commit()
    engine.dispose()

    args = ["--org", "acme", "--team", "payments", *JANUARY, "--format", "json"]
    result = runner.invoke(app, dora(database_url, *args))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scope"] == {"org": "acme", "team": "payments"}
    # A team's changes are its members' wherever they work: c1 72 h and c4 48 h in "mono",
    # and alice's work in "shop" while she was a member (until 01-15 00:00): #1 50 h, #3 48 h
    # and her direct commit d1 2 h; not #5, opened 01-15 11:00. Sorted [2, 48, 48, 50, 72]:
    # median 48.
    assert report["lead_time_for_changes"]["median_hours"] == 48.0
    assert report["lead_time_for_changes"]["pull_requests"] == 2

    table = runner.invoke(app, dora(database_url, "--repo", "shop", *JANUARY, "--explain"))
    assert table.exit_code == 0, table.output
    assert "DORA metrics for repository shop" in table.stdout
    assert "  pickup (PRs)" in table.stdout and "#3" in table.stdout

    both = runner.invoke(app, dora(database_url, "--team", "payments", "--repo", "shop"))
    # `main` turns an InputError into one line and exit code 2 (see the subprocess tests).
    assert isinstance(both.exception, InputError)
    assert "choose one of team, repo and service" in str(both.exception)

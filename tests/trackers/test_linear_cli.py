"""`diogen sync linear`: a summary line, and one-line errors with the right exit codes."""

from __future__ import annotations

import sys

import pytest
from linear_cases import API_KEY
from typer.testing import CliRunner

import diogen.cli.sync_linear  # noqa: F401 - registers `sync linear`
from diogen.cli.app import app
from diogen.testing.fake_linear import FakeLinear

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIOGEN_LINEAR_API_KEY", raising=False)


def test_sync_prints_a_summary(linear: FakeLinear, sqlite_url: str) -> None:
    args = ["sync", "linear", "--team", "ENG", "--api-url", linear.url, "--database", sqlite_url]
    result = runner.invoke(app, args, env={"DIOGEN_LINEAR_API_KEY": API_KEY})
    assert result.exit_code == 0, result.output
    line = result.stderr.strip()
    # ENG-1 2, ENG-2 4, ENG-3 3, ENG-4 1, ENG-5 7, ENG-6 1 history entries.
    assert line.startswith(
        f"linear@{linear.organization['id']}: 1 teams, 2 cycles, 1 projects, 6 issues, "
        "18 history entries, "
    ), line


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--team", "ENG"], 2, "error: a Linear API key is needed"),
        (["--api-key", API_KEY], 2, "error: give at least one team"),
        (
            ["--api-key", API_KEY, "--team", "no way"],
            2,
            "error: invalid Linear options: teams: 'no way' is not a Linear team key",
        ),
        (["--api-key", API_KEY, "--team", "NOPE"], 1, "error: no Linear team 'NOPE'"),
        (["--api-key", "lin_api_wrong", "--team", "ENG"], 1, "error: http://"),
    ],
)
def test_bad_options_are_one_line(
    args: list[str],
    code: int,
    message: str,
    linear: FakeLinear,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from diogen.cli import main

    argv = ["diogen", "sync", "linear", "--api-url", linear.url, "--database", sqlite_url, *args]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == code
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(message), error


def test_help_lists_the_options() -> None:
    result = runner.invoke(app, ["sync", "linear", "--help"])
    assert result.exit_code == 0
    for option in ("--team", "--api-key", "--api-url", "--database"):
        assert option in result.output

"""`diogen sync jira`: a summary line, and one-line errors with the right exit codes."""

from __future__ import annotations

import sys

import pytest
from jira_cases import EMAIL, TOKEN
from typer.testing import CliRunner

import diogen.cli.sync_trackers  # noqa: F401 - registers `sync jira`
from diogen.cli.app import app
from diogen.testing.fake_jira import FakeJira

runner = CliRunner()
CLOUD = pytest.mark.parametrize("flavor", ["cloud"], indirect=True)


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DIOGEN_JIRA_URL", "DIOGEN_JIRA_EMAIL", "DIOGEN_JIRA_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@CLOUD
def test_sync_prints_a_summary(jira: FakeJira, sqlite_url: str) -> None:
    args = [
        "sync",
        "jira",
        "--url",
        jira.url,
        "--cloud",
        "--project",
        "DIO",
        "--database",
        sqlite_url,
    ]
    env = {"DIOGEN_JIRA_EMAIL": EMAIL, "DIOGEN_JIRA_TOKEN": TOKEN}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    line = result.stderr.strip()
    host = jira.url.removeprefix("http://")
    assert line.startswith(
        f"jira@{host}: 1 projects, 2 boards, 2 sprints, 8 issues, 15 changelog entries, "
    ), line


@CLOUD
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--project", "DIO"], 2, "error: a Jira token is needed"),
        (
            ["--token", "t", "--project", "DIO"],
            2,
            "error: invalid Jira options: Jira Cloud needs the account's email",
        ),
        (
            ["--token", "t", "--email", EMAIL],
            2,
            "error: invalid Jira options: give at least one project",
        ),
        (
            ["--token", "t", "--email", EMAIL, "--project", "no way"],
            2,
            "error: invalid Jira options: projects: 'no way' is not a Jira project key",
        ),
        (
            ["--token", TOKEN, "--email", EMAIL, "--project", "NOPE"],
            1,
            "error: no Jira project 'NOPE'",
        ),
        (["--token", "wrong", "--email", EMAIL, "--project", "DIO"], 1, "error: http://"),
    ],
)
def test_bad_options_are_one_line(
    args: list[str],
    code: int,
    message: str,
    jira: FakeJira,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from diogen.cli import main

    argv = ["diogen", "sync", "jira", "--url", jira.url, "--cloud", "--database", sqlite_url, *args]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == code
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(message), error


def test_help_lists_the_options() -> None:
    result = runner.invoke(app, ["sync", "jira", "--help"])
    assert result.exit_code == 0
    for option in (
        "--url",
        "--project",
        "--board",
        "--email",
        "--token",
        "--server",
        "--points-field",
    ):
        assert option in result.output

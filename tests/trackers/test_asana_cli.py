"""`diogen sync asana`: a summary line, and one-line errors with the right exit codes."""

from __future__ import annotations

import sys

import pytest
from asana_cases import PROJECT, TOKEN
from typer.testing import CliRunner

import diogen.cli.sync_asana  # noqa: F401 - registers `sync asana`
from diogen.cli.app import app
from diogen.testing.fake_asana import FakeAsana

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_ambient_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIOGEN_ASANA_TOKEN", raising=False)


def test_sync_prints_a_summary(asana: FakeAsana, sqlite_url: str) -> None:
    args = ["sync", "asana", "--project", PROJECT, "--api-url", asana.url, "--database", sqlite_url]
    result = runner.invoke(app, args, env={"DIOGEN_ASANA_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    line = result.stderr.strip()
    host = asana.url.split("//")[1].split("/")[0]
    assert line.startswith(f"asana@{host}: 1 projects, 4 sections, 3 tasks, 9 stories, "), line


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--project", PROJECT], 2, "error: an Asana token is needed"),
        (["--token", TOKEN], 2, "error: give at least one project"),
        (
            ["--token", TOKEN, "--project", "abc"],
            2,
            "error: invalid Asana options: projects: 'abc' is not an Asana project gid",
        ),
        (["--token", TOKEN, "--project", "999"], 1, "error: no Asana project 999"),
        (["--token", "wrong", "--project", PROJECT], 1, "error: http://"),
    ],
)
def test_bad_options_are_one_line(
    args: list[str],
    code: int,
    message: str,
    asana: FakeAsana,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from diogen.cli import main

    argv = ["diogen", "sync", "asana", "--api-url", asana.url, "--database", sqlite_url, *args]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == code
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(message), error

"""`diogen sync github`: options, progress summary and one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import diogen.cli.sync_github  # noqa: F401 - registers `sync github`
from diogen.cli.app import app
from diogen.connectors.github import GitHubConfig
from diogen.testing.fake_github import FakeGitHub

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_ambient_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GITHUB_TOKEN", "DIOGEN_GITHUB_TOKEN", "DIOGEN_GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIOGEN_CACHE_DIR", str(tmp_path / "cache"))


def test_sync_prints_a_summary(
    fake: FakeGitHub, history: tuple[Path, list[str]], database_url: str
) -> None:
    path, shas = history
    fake.add(
        fake.examples.repository(
            "octo/app", clone_url=str(path), pull_requests=30, deployments=3, runs=2, shas=shas
        )
    )
    args = [
        "sync",
        "github",
        "--repo",
        "octo/app",
        "--api-url",
        fake.url,
        "--database",
        database_url,
        "--deploy-workflow",
        "deploy",
    ]
    result = runner.invoke(app, args, env={"GITHUB_TOKEN": "t1,t2"})
    assert result.exit_code == 0, result.output
    line = result.stderr.strip()
    assert line.startswith(f"github@{fake.url.removeprefix('http://')}: 1 repositories, ")
    assert (
        "30 pull requests, 10 review comments, 3 deployments, 2 workflow runs, 10 commits" in line
    )
    assert "3 deployed commits" in line
    assert {r.token for r in fake.log} == {"t1", "t2"}
    again = runner.invoke(app, args, env={"GITHUB_TOKEN": "t1"})
    assert again.exit_code == 0 and "not modified" in again.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "error: a GitHub token is needed"),
        (["--token", "t", "--repo", "not-a-repo"], 2, "error: invalid GitHub options: repos:"),
        (["--token", "t", "--repo", "a/b", "--org", "a"], 2, "error: invalid GitHub options:"),
        (
            ["--token", "t", "--repo", "octo/missing"],
            1,
            "error: GitHub repository octo/missing not",
        ),
    ],
)
def test_bad_options_are_one_line(
    args: list[str],
    code: int,
    message: str,
    fake: FakeGitHub,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from diogen.cli import main

    argv = ["diogen", "sync", "github", "--api-url", fake.url, "--database", sqlite_url, *args]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == code
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(message), error


def test_help_lists_the_options() -> None:
    result = runner.invoke(app, ["sync", "github", "--help"])
    assert result.exit_code == 0
    options = ("--repo", "--org", "--token", "--api-url", "--deploy-workflow", "--releases")
    for option in (*options, "--app-id", "--private-key", "--installation-id", "--no-teams"):
        assert option in result.output


def test_rules_come_from_the_github_section_and_the_command_line(
    fake: FakeGitHub, sqlite_url: str, tmp_path: Path
) -> None:
    from diogen.cli.sync_github import Rules, github_config
    from diogen.config import load_settings

    config = tmp_path / "diogen.toml"
    config.write_text(
        "[github]\n"
        'incident_labels = ["incident"]\n'
        '[github.deployments]\nworkflow_pattern = "^deploy$"\n'
        '[github.repositories."Octo/App"]\nreleases = true\nenvironment_pattern = "^live$"\n'
    )
    settings = load_settings(config)

    def built(given: dict[str, object], labels: list[str]) -> GitHubConfig:
        rules = Rules({"environment_pattern": settings.production_environment}, given, labels)
        return github_config(settings, ["octo/app", "octo/web"], None, ["t"], fake.url, rules)

    github = built({}, [])
    app, web = github.rules_for("octo/app"), github.rules_for("octo/web")
    assert (app.environment_pattern, app.workflow_pattern, app.releases) == (
        "^live$",
        "^deploy$",
        True,
    )
    assert (web.environment_pattern, web.workflow_pattern, web.releases) == (
        "^prod(uction)?$",
        "^deploy$",
        False,
    )
    assert github.incidents.labels == ["incident"]
    # The command line wins over the file, for every repository.
    github = built({"workflow_pattern": "release"}, ["sev1"])
    assert github.rules_for("octo/app").workflow_pattern == "release"
    assert github.rules_for("octo/web").workflow_pattern == "release"
    assert github.incidents.labels == ["sev1"]


def test_a_bad_github_section_is_one_line(
    fake: FakeGitHub,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from diogen.cli import main

    config = tmp_path / "diogen.toml"
    config.write_text('[github.repositories."octo/app"]\nworkflow_patern = "deploy"\n')
    argv = ["diogen", "sync", "github", "--api-url", fake.url, "--database", sqlite_url]
    monkeypatch.setattr(
        sys, "argv", [*argv, "--config", str(config), "--token", "t", "--repo", "octo/app"]
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "workflow_patern" in error, error


def test_incident_labels_and_checks_from_the_command_line(
    fake: FakeGitHub, database_url: str
) -> None:
    from datetime import UTC, datetime

    repo = fake.add(fake.examples.repository("octo/app"))
    at = datetime(2024, 5, 1, tzinfo=UTC)
    fake.examples.add_issue(repo, 1, labels=["Outage"], created=at)
    fake.examples.add_issue(repo, 2, labels=["bug"], created=at)
    repo.branch_commits = ["c" * 40]
    fake.examples.add_commit_status(repo, "c" * 40, "ci/jenkins", "success", at)
    args = ["sync", "github", "--repo", "octo/app", "--api-url", fake.url]
    args += ["--database", database_url, "--no-clone", "--incident-label", "outage", "--checks"]
    result = runner.invoke(app, args, env={"GITHUB_TOKEN": "t"})
    assert result.exit_code == 0, result.output
    assert "1 commits' checks, 2 issues, 1 incidents" in result.stderr

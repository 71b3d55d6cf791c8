"""`diogen deployments preview`: the rules judged against what is in bronze, with reasons, and
no request to GitHub."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from diogen.connectors.github import DeploymentRules
from diogen.ingest.runner import SyncResult
from diogen.testing.fake_github import FakeGitHub

Sync = Callable[..., SyncResult]
Preview = Callable[..., tuple[int, str, str]]


@pytest.fixture
def synced(fake: FakeGitHub, sync: Sync, engine: Engine) -> FakeGitHub:
    """Deployments #600001 production, #600002 staging, #600003 production (all succeeded);
    runs Deploy #800000 succeeded, CI #800001 succeeded, Deploy #800002 failed; releases
    v1.0.0 and v1.1.0 (read because the sync had the releases rule on)."""
    fake.add(fake.examples.repository("octo/app", deployments=3, runs=3, releases=2))
    sync(repos=["octo/app"], clone=False, rules=DeploymentRules(releases=True))
    fake.log.clear()
    return fake


@pytest.fixture
def preview(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Preview:
    from diogen.cli import main

    monkeypatch.chdir(tmp_path)  # no ambient diogen.toml

    def run(*args: str) -> tuple[int, str, str]:
        argv = ["diogen", "deployments", "preview", "--database", database_url, *args]
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as exit_info:
            main()
        code = exit_info.value.code
        out, error = capsys.readouterr()
        return (0 if code is None else int(code)), out, error

    return run


def verdicts(out: str) -> dict[str, tuple[str, str]]:
    """What each record is ("deployment: #600001 to production") → (IN/OUT, reason)."""
    found = {}
    for text in out.splitlines():
        status, _repo, what, _at, _sha, reason = text.split("  ", 5)
        found[what] = (status.strip(), reason)
    return found


def test_every_record_with_its_reason(synced: FakeGitHub, preview: Preview) -> None:
    code, out, error = preview("--repo", "octo/app", "--deploy-workflow", "deploy", "--releases")
    assert code == 0, error
    assert verdicts(out) == {
        "deployment: #600001 to production": (
            "IN",
            "environment matches /^prod(uction)?$/ and it succeeded",
        ),
        "deployment: #600002 to staging": (
            "OUT",
            "environment 'staging' does not match /^prod(uction)?$/",
        ),
        "deployment: #600003 to production": (
            "IN",
            "environment matches /^prod(uction)?$/ and it succeeded",
        ),
        "workflow run: Deploy #800000": ("IN", "workflow matches /deploy/ and it succeeded"),
        "workflow run: CI #800001": (
            "OUT",
            "neither its name nor '.github/workflows/ci.yml' matches /deploy/",
        ),
        "workflow run: Deploy #800002": ("IN", "workflow matches /deploy/ and it failed (failure)"),
        "release: v1.0.0": ("IN", "a published release deploys its tag's commit"),
        "release: v1.1.0": ("IN", "a published release deploys its tag's commit"),
    }
    assert error == "8 records shown: 6 would count as production deployments, 2 would not\n"
    assert synced.log == []  # bronze only: not one request


def test_the_default_rules_and_the_config_file(
    synced: FakeGitHub, preview: Preview, tmp_path: Path
) -> None:
    _, out, _ = preview()
    found = verdicts(out)
    assert found["workflow run: Deploy #800000"] == (
        "OUT",
        "no workflow is a deployment (no workflow rule)",
    )
    assert found["release: v1.0.0"][0] == "OUT"
    config = tmp_path / "rules.toml"
    config.write_text(
        '[github.repositories."octo/app"]\nenvironment_pattern = "^staging$"\n'
        'workflow_pattern = "deploy"\nworkflow_branch_pattern = "^hotfix-"\n'
    )
    _, out, error = preview("--config", str(config))
    found = verdicts(out)
    assert found["deployment: #600002 to staging"][0] == "IN"
    assert found["deployment: #600001 to production"][0] == "OUT"
    assert found["workflow run: Deploy #800000"] == (
        "OUT",
        "workflow matches, but branch 'main' does not match /^hotfix-/",
    )
    assert error.startswith("8 records shown: 1 would count")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--repo", "octo/none"], 1, "error: no GitHub deployments, workflow runs or releases of "),
        (["--repo", "nope"], 2, "error: --repo 'nope' is not OWNER/NAME"),
        (["--deploy-workflow", "("], 2, "error: invalid deployment rules: workflow_pattern"),
    ],
)
def test_errors_are_one_line(
    synced: FakeGitHub, preview: Preview, args: list[str], code: int, message: str
) -> None:
    got, _, error = preview(*args)
    assert got == code and error.count("\n") == 1 and error.startswith(message), error

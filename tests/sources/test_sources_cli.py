"""`diogen sources ...` from a shell: secrets from the environment or stdin (never argv), the
test against a fake Asana over real HTTP, one-line errors with exit codes 2 and 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from diogen.testing.fake_asana import FakeAsana

DIOGEN = [sys.executable, "-c", "from diogen.cli import main\nmain()"]
TOKEN = "asana-cli-secret-token"


def run(
    *args: str, cwd: Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    base = {"HOME": str(Path.home()), "COLUMNS": "1000", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [*DIOGEN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
        cwd=cwd,
        check=False,
    )


def test_add_show_test_update_remove(database_url: str, tmp_path: Path, shared_data: Path) -> None:
    env = {"DIOGEN_DATABASE_URL": database_url, "DIOGEN_SECRET_KEY": Fernet.generate_key().decode()}
    with FakeAsana(shared_data, token=TOKEN) as asana:
        added = run(
            "sources", "add", "asana", "tasks",
            "--option", "projects=1201",
            "--option", f"api_url={asana.url}",
            "--secret-env", "token=ASANA_TOKEN",
            "--interval", "20",
            cwd=tmp_path, env={**env, "ASANA_TOKEN": TOKEN},
        )  # fmt: skip
        tested = run("sources", "test", "tasks", cwd=tmp_path, env=env)
        replaced = run(
            "sources", "update", "tasks", "--secret", "token",
            cwd=tmp_path, env=env, stdin="wrong-token\n",
        )  # fmt: skip
        refused = run("sources", "test", "tasks", cwd=tmp_path, env=env)
    shown = run("sources", "show", "tasks", "--format", "json", cwd=tmp_path, env=env)
    listed = run("sources", "list", cwd=tmp_path, env=env)

    assert added.returncode == 0, added.stderr
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.strip() == "tasks: ok: signed in as Greg Sanchez"
    assert replaced.returncode == 0, replaced.stderr
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: tasks: ") and "answered 401" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    found = json.loads(shown.stdout)
    assert found["options"] == {"projects": ["1201"], "api_url": asana.url}
    assert found["secrets"]["token"]["set"] is True
    assert found["schedule"] == "every 20 min"
    assert found["last_test"]["ok"] is False
    assert "tasks (asana) → asana@127.0.0.1:" in listed.stdout
    for done in (added, tested, replaced, refused, shown, listed):
        assert TOKEN not in done.stdout + done.stderr
        assert "wrong-token" not in done.stdout + done.stderr
    removed = run("sources", "remove", "tasks", cwd=tmp_path, env=env)
    gone = run("sources", "show", "tasks", cwd=tmp_path, env=env)
    assert removed.returncode == 0, removed.stderr
    assert (gone.returncode, gone.stderr) == (1, "error: unknown connection 'tasks'\n")


def test_bad_usage_is_one_line_and_exit_2(sqlite_url: str, tmp_path: Path) -> None:
    env = {"DIOGEN_DATABASE_URL": sqlite_url}
    no_key = run(
        "sources", "add", "jira", "j", "--option", "url=https://jira.example.com",
        "--option", "projects=ENG", "--secret", "token",
        cwd=tmp_path, env=env, stdin="jira-secret\n",
    )  # fmt: skip
    bad = run("sources", "add", "github", "g", "--option", "repos=nope", cwd=tmp_path, env=env)
    unset = run(
        "sources", "add", "linear", "l", "--option", "teams=ENG", "--secret-env", "api_key=NOPE",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    kind = run("sources", "add", "svn", "s", cwd=tmp_path, env=env)

    assert no_key.returncode == 1  # the configuration is missing: a failure, not bad usage
    assert no_key.stderr.startswith("error: secrets cannot be stored: DIOGEN_SECRET_KEY is not set")
    assert "jira-secret" not in no_key.stderr
    assert (bad.returncode, bad.stderr) == (
        2,
        "error: invalid github options: repos: 'nope' is not OWNER/NAME\n",
    )
    assert (unset.returncode, unset.stderr) == (
        2,
        "error: environment variable NOPE is not set (for secret api_key)\n",
    )
    assert kind.returncode == 2 and kind.stderr.startswith("error: unknown kind 'svn'")
    key = run("sources", "new-key", cwd=tmp_path, env={})
    assert Fernet(key.stdout.strip().encode())

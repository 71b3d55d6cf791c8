"""From a shell: create an administrator, issue an API key, serve, get DORA numbers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

# `diogen` itself, with the API's command modules loaded: until diogen.cli imports them, the
# installed entry point does not know `serve`, `users` and `tokens`.
DIOGEN = [
    sys.executable,
    "-c",
    "import diogen.cli.accounts, diogen.cli.serve\nfrom diogen.cli import main\nmain()",
]


def run(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(Path.home()), "COLUMNS": "1000"}
    return subprocess.run(
        [*DIOGEN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_admin_key_and_dora_over_http(database_url: str, tmp_path: Path) -> None:
    db = ["--database", database_url]
    created = run(
        "users",
        "create-admin",
        "--email",
        "Admin@Example.com",
        "--password-stdin",
        *db,
        cwd=tmp_path,
        stdin="a long enough passphrase\n",
    )
    again = run(
        "users",
        "create-admin",
        "--email",
        "admin@example.com",
        "--password-stdin",
        *db,
        cwd=tmp_path,
        stdin="a long enough passphrase\n",
    )
    short = run(
        "users",
        "create-admin",
        "--email",
        "b@example.com",
        "--password-stdin",
        *db,
        cwd=tmp_path,
        stdin="short\n",
    )
    token = run(
        "tokens", "create", "--email", "admin@example.com", "--name", "ci", *db, cwd=tmp_path
    )

    assert created.returncode == 0, created.stderr
    assert again.returncode == 2 and again.stderr.startswith("error: a user with email")
    assert short.returncode == 2 and "12 to 256 characters" in short.stderr
    assert token.returncode == 0, token.stderr
    key = token.stdout.strip()
    assert key.startswith("dgn_") and key not in token.stderr

    port = free_port()
    server = subprocess.Popen(
        [*DIOGEN, "serve", "--port", str(port), *db],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base, server)
        headers = {"Authorization": f"Bearer {key}"}
        dora = httpx.get(f"{base}/api/v1/analytics/dora", headers=headers, timeout=30)
        ready = httpx.get(f"{base}/ready", timeout=10)
        listed = run("tokens", "list", "--email", "admin@example.com", *db, cwd=tmp_path)
        revoked = run("tokens", "revoke", key.split("_")[1], *db, cwd=tmp_path)
        refused = httpx.get(f"{base}/api/v1/me", headers=headers, timeout=10)
    finally:
        server.terminate()
        _, logs = server.communicate(timeout=30)

    assert dora.status_code == 200 and dora.json()["scope"] == {"org": None}
    assert ready.json()["status"] == "ready"
    assert "\tci\tviewer\t*\t" in listed.stdout and "never used" not in listed.stdout
    assert revoked.returncode == 0 and refused.status_code == 401
    assert '"route": "/api/v1/analytics/dora"' in logs and key not in logs


def _wait_until_up(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"server exited: {server.communicate()[1]}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not start in 30 s")

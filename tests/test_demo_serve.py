"""`diogen demo --serve`: the dashboard and API on the demo data, signed in with the printed
one-time password of the demo admin; and the hint printed without --serve."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import IO

import httpx
import pytest
from test_demo import DIOGEN, T0, run

from diogen.accounts.errors import AuthenticationError
from diogen.accounts.users import authenticate
from diogen.cli.demo_serve import DEMO_ADMIN, demo_admin
from diogen.db import make_engine, session_scope
from diogen.migrations import upgrade
from diogen.testing.gitrepo import GitRepo

PRINTED = re.compile(r"dashboard: (http://\S+)\n.*one-time password (\S+)", re.S)


def _shop(tmp_path: Path) -> Path:
    repo = GitRepo(tmp_path / "shop")
    repo.commit("a", T0)
    repo.commit("b", T0 + timedelta(hours=12))
    repo.tag("v1.0.0", when=T0 + timedelta(days=1), message="one")
    repo.commit("c", T0 + timedelta(days=2))
    repo.tag("v1.1.0", when=T0 + timedelta(days=4), message="two")
    return repo.path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read_until_printed(stream: IO[str], deadline: float) -> tuple[str, str]:
    text = ""
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        text += line
        found = PRINTED.search(text)
        if found:
            return found.group(1), found.group(2)
    raise AssertionError(f"no dashboard link and password printed:\n{text}")


def _wait_ready(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the demo server did not become ready")


def test_demo_serve_signs_in_with_the_printed_password(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DIOGEN_DATABASE_URL", None)
    command = [DIOGEN, "demo", "--repo", str(_shop(tmp_path)), "--serve", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stderr is not None
        deadline = time.monotonic() + 60
        link, password = _read_until_printed(server.stderr, deadline)
        base = f"http://127.0.0.1:{port}"
        assert link.startswith(f"{base}/#/overview?from=2024-03-04&") and "repo=shop" in link
        _wait_ready(base, deadline)
        token = httpx.post(
            f"{base}/api/v1/auth/token", json={"email": DEMO_ADMIN, "password": password}
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        report = httpx.get(
            f"{base}/api/v1/analytics/dora",
            params={"repo": "shop", "from": "2024-03-01", "to": "2024-04-01"},
            headers=headers,
        ).json()
        # The demo's own numbers (tests/test_demo.py): two releases, three changes, 24 h.
        assert report["deployment_frequency"]["deployments"] == 2
        lead = report["lead_time_for_changes"]
        assert (lead["changes"], lead["median_hours"]) == (3, 24.0)
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        wrong = httpx.post(
            f"{base}/api/v1/auth/token", json={"email": DEMO_ADMIN, "password": "guessed-wrong"}
        )
        assert wrong.status_code == 401
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode == 0


def test_each_run_gives_a_new_password(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    first = demo_admin(engine)
    second = demo_admin(engine)
    with session_scope(engine) as session:
        assert authenticate(session, DEMO_ADMIN, second).is_superuser
        with pytest.raises(AuthenticationError):
            authenticate(session, DEMO_ADMIN, first)
    engine.dispose()


def test_demo_without_serve_prints_the_command_that_serves(tmp_path: Path) -> None:
    repo = _shop(tmp_path)
    result = run("demo", "--repo", str(repo), cwd=tmp_path, path="/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert f"  {DIOGEN} demo --serve --repo {repo}" in result.stderr

"""GitHub App authentication against the fake GitHub, which checks the app's JWT with its public
key and issues installation tokens that expire on a clock the test moves."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from github_support import Sleeper
from sqlalchemy import Engine, func, select

from diogen.connectors.base import FetchStats
from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.connectors.github.app import RENEW_BEFORE, InstallationToken
from diogen.connectors.github.config import GitHubAppConfig
from diogen.connectors.http import HttpClient
from diogen.db import session_scope
from diogen.ingest.runner import run_sync
from diogen.silver import PullRequest
from diogen.testing.fake_github import FakeGitHub
from diogen.testing.fake_github_app import new_key_pair

APP_ID = "4242"
INSTALLATION = 77


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Ticking(httpx.BaseTransport):
    """Real HTTP; each request moves the shared clock on by `step` seconds first, and
    `before(n)` runs before the n-th request (1-based)."""

    def __init__(
        self, clock: Clock, step: float, before: Callable[[int], None] | None = None
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self.clock, self.step, self.before = clock, step, before or (lambda sent: None)
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        self.clock.now += self.step
        self.before(self.sent)
        return self.inner.handle_request(request)


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return new_key_pair()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(shared_data: Path, clock: Clock) -> Iterator[FakeGitHub]:
    with FakeGitHub(shared_data, clock=clock) as fake:
        fake.add(fake.examples.repository("octo/app", pull_requests=30, deployments=3, runs=2))
        yield fake


def app_config(keys: tuple[str, str], installation_id: int | None = None) -> GitHubAppConfig:
    return GitHubAppConfig(app_id=APP_ID, private_key=keys[0], installation_id=installation_id)


def test_token_is_renewed_before_it_expires(
    server: FakeGitHub, clock: Clock, keys: tuple[str, str]
) -> None:
    app = server.install_app(APP_ID, keys[1], {"octo": INSTALLATION})
    http = HttpClient(server.url + "/", clock=clock, sleep=Sleeper())
    stats = FetchStats()
    credentials = InstallationToken(
        app_config(keys), http, clock=clock, stats=stats, owner="octo", repo="octo/app"
    )
    first = credentials.token()
    assert first.startswith("ghs_") and app.tokens[first] == int(clock.now) + 3600
    assert [r.path for r in server.log] == [
        "/repos/octo/app/installation",
        f"/app/installations/{INSTALLATION}/access_tokens",
    ]
    clock.now += 3600 - RENEW_BEFORE - 1
    assert credentials.token() == first  # still more than the margin left: no request
    clock.now += 2
    second = credentials.token()
    assert second != first
    assert app.valid(first, clock.now)  # renewed while the old one was still good
    # The installation is remembered: renewing asks for a token only.
    assert server.log[-1].path == f"/app/installations/{INSTALLATION}/access_tokens"
    assert len(server.log) == 3 and stats.counters["token_renewals"] == 2


def sync_as_app(
    engine: Engine,
    server: FakeGitHub,
    clock: Clock,
    keys: tuple[str, str],
    transport: httpx.BaseTransport,
    tmp_path: Path,
    **scope: object,
) -> dict[str, int]:
    scope = scope or {"repos": ["octo/app"]}
    config = GitHubConfig(
        **scope,  # type: ignore[arg-type]
        app=app_config(keys),
        api_url=server.url,
        clone=False,
        cache_dir=tmp_path / "cache",
    )
    connector = GitHubConnector(config, transport=transport, sleep=Sleeper(), clock=clock)
    return run_sync(engine, connector).summary


def pull_requests(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(PullRequest)) or 0)


def test_a_long_sync_renews_the_token_and_never_sends_an_expired_one(
    engine: Engine, server: FakeGitHub, clock: Clock, keys: tuple[str, str], tmp_path: Path
) -> None:
    app = server.install_app(APP_ID, keys[1], {"octo": INSTALLATION}, token_lifetime=900)
    # Two minutes a request: a 900 s token is due for renewal every fifth request.
    summary = sync_as_app(engine, server, clock, keys, Ticking(clock, 120.0), tmp_path)
    assert pull_requests(engine) == 30 and summary["deployments"] == 3
    issued = [r for r in server.log if r.path.endswith("/access_tokens")]
    assert len(issued) == summary["token_renewals"] == len(app.tokens) >= 2
    assert all(r.status != 401 for r in server.log)
    used = {r.token for r in server.log if r.token and r.token.startswith("ghs_")}
    assert used == set(app.tokens)


def test_an_org_sync_finds_the_installation_on_the_org(
    engine: Engine, server: FakeGitHub, clock: Clock, keys: tuple[str, str], tmp_path: Path
) -> None:
    server.install_app(APP_ID, keys[1], {"octo": INSTALLATION})
    summary = sync_as_app(engine, server, clock, keys, Ticking(clock, 1.0), tmp_path, org="octo")
    assert summary["repositories"] == 1 and pull_requests(engine) == 30
    assert server.log[0].path == "/orgs/octo/installation"


def test_a_revoked_token_is_replaced_once(
    engine: Engine, server: FakeGitHub, clock: Clock, keys: tuple[str, str], tmp_path: Path
) -> None:
    app = server.install_app(APP_ID, keys[1], {"octo": INSTALLATION})
    revoke = Ticking(clock, 1.0, before=lambda n: app.tokens.clear() if n == 6 else None)
    sync_as_app(engine, server, clock, keys, revoke, tmp_path)
    assert pull_requests(engine) == 30
    assert [r.status for r in server.log].count(401) == 1
    assert len([r for r in server.log if r.path.endswith("/access_tokens")]) == 2


# -- the command line ---------------------------------------------------------------------


@pytest.fixture
def run_cli(
    server: FakeGitHub,
    clock: Clock,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Callable[..., tuple[int, str]]:
    from diogen.cli import main

    clock.now = time.time()  # the command runs on the real clock

    for name in ("GITHUB_TOKEN", "DIOGEN_GITHUB_TOKEN", "DIOGEN_GITHUB_APP_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIOGEN_CACHE_DIR", str(tmp_path / "cache"))

    def run(*args: str) -> tuple[int, str]:
        argv = ["diogen", "sync", "github", "--api-url", server.url, "--database", sqlite_url]
        monkeypatch.setattr(sys, "argv", [*argv, "--repo", "octo/app", "--no-clone", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        code = exit_info.value.code
        return (0 if code is None else int(code)), capsys.readouterr().err

    return run


def pem_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "app.pem"
    path.write_text(text)
    return str(path)


def test_cli_syncs_as_an_app(
    run_cli: Callable[..., tuple[int, str]],
    server: FakeGitHub,
    keys: tuple[str, str],
    tmp_path: Path,
) -> None:
    server.install_app(APP_ID, keys[1], {"octo": INSTALLATION})
    key = pem_file(tmp_path, keys[0])
    code, err = run_cli("--app-id", APP_ID, "--private-key", key, "--installation-id", "77")
    assert code == 0, err
    assert "30 pull requests" in err
    assert server.log[0].path == f"/app/installations/{INSTALLATION}/access_tokens"


@pytest.mark.parametrize(
    ("key", "args", "code", "message"),
    [
        ("other", [], 1, f"error: GitHub refused GitHub App {APP_ID}: "),
        ("garbage", [], 2, "error: {key}: the GitHub App private key is not an unencrypted PEM"),
        (None, [], 2, "error: a GitHub App needs both --app-id and --private-key FILE"),
        ("good", ["--installation-id", "0"], 2, "error: invalid GitHub App options: "),
        ("missing", [], 2, "error: cannot read the GitHub App private key {key}: "),
    ],
)
def test_cli_app_errors_are_one_line(
    run_cli: Callable[..., tuple[int, str]],
    server: FakeGitHub,
    keys: tuple[str, str],
    tmp_path: Path,
    key: str | None,
    args: list[str],
    code: int,
    message: str,
) -> None:
    server.install_app(APP_ID, keys[1], {"octo": INSTALLATION})
    texts = {"other": new_key_pair()[0], "garbage": "-----BEGIN NOTHING-----\n", "good": keys[0]}
    options = ["--app-id", APP_ID, *args]
    path = str(tmp_path / "absent.pem")
    if key in texts:
        path = pem_file(tmp_path, texts[key])
    if key is not None:
        options += ["--private-key", path]
    got, err = run_cli(*options)
    assert got == code
    assert err.count("\n") == 1 and err.startswith(message.format(key=path)), err
    if key == "other":
        assert "A JSON web token could not be decoded" in err


def test_cli_app_not_installed_on_the_owner(
    run_cli: Callable[..., tuple[int, str]],
    server: FakeGitHub,
    keys: tuple[str, str],
    tmp_path: Path,
) -> None:
    server.install_app(APP_ID, keys[1], {"someone-else": INSTALLATION})
    code, err = run_cli("--app-id", APP_ID, "--private-key", pem_file(tmp_path, keys[0]))
    assert code == 1
    assert err == f"error: GitHub App {APP_ID} is not installed on octo/app " + (
        "(install it there, or give --installation-id)\n"
    )

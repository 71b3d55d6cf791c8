"""Private repositories: the clone sends the sync's token to GitHub's git host, and nowhere
else, without writing it into the clone (a real `git http-backend` asking for a password)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from git_http_support import private_git_server

from diogen.connectors.base import FetchStats
from diogen.connectors.git import repo as gitrepo
from diogen.connectors.github.client import GitHubApi, same_site
from diogen.connectors.github.config import GitHubConfig
from diogen.errors import SourceError
from diogen.testing.gitrepo import GitRepo

TOKEN = "ghs_private0123456789"
BASIC = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


@pytest.fixture
def served(tmp_path: Path) -> Path:
    work = GitRepo(tmp_path / "work")
    work.commit("first", datetime(2024, 3, 4, 9, tzinfo=UTC))
    work.tag("v1.0.0", when=datetime(2024, 3, 5, tzinfo=UTC), message="one")
    root = tmp_path / "served"
    root.mkdir()
    work.git("clone", "--bare", "--quiet", str(work.path), str(root / "app.git"))
    return root


def test_the_token_clones_and_fetches_and_is_stored_nowhere(served: Path, tmp_path: Path) -> None:
    with private_git_server(served, BASIC) as (base, seen):
        path = gitrepo.mirror(f"{base}/app.git", tmp_path / "cache", BASIC)
        assert {ref.name for ref in gitrepo.list_refs(path)} == {"main", "v1.0.0"}
        gitrepo.mirror(f"{base}/app.git", tmp_path / "cache", BASIC)  # the fetch of a re-sync
    assert seen and set(seen) <= {BASIC}
    stored = "".join(p.read_text(errors="replace") for p in path.rglob("*") if p.is_file())
    assert TOKEN not in stored and BASIC not in stored


def test_without_the_token_the_clone_fails_in_one_line(served: Path, tmp_path: Path) -> None:
    with private_git_server(served, BASIC) as (base, _seen), pytest.raises(SourceError) as failed:
        gitrepo.mirror(f"{base}/app.git", tmp_path / "cache")
    assert len(str(failed.value).splitlines()) == 1
    assert TOKEN not in str(failed.value)


@pytest.mark.parametrize(
    ("api_url", "clone_url", "sent"),
    [
        ("https://api.github.com", "https://github.com/octo/app.git", True),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com/octo/app.git", True),
        ("https://api.github.com", "https://mirror.example.com/octo/app.git", False),
        ("https://api.github.com", "http://github.com/octo/app.git", False),
        ("https://api.github.com", "file:///srv/octo/app.git", False),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/octo/app.git", True),
        ("http://127.0.0.1:8080", "http://127.0.0.1:9090/octo/app.git", False),
    ],
)
def test_the_token_goes_only_to_the_apis_own_git_host(
    api_url: str, clone_url: str, sent: bool
) -> None:
    assert same_site(api_url, clone_url) is sent
    api = GitHubApi(GitHubConfig(repos=["octo/app"], tokens=[TOKEN], api_url=api_url), FetchStats())
    try:
        assert api.git_authorization(clone_url) == (BASIC if sent else None)
    finally:
        api.close()


def test_no_token_no_authorization() -> None:
    api = GitHubApi(GitHubConfig(repos=["octo/app"]), FetchStats())
    try:
        assert api.git_authorization("https://github.com/octo/app.git") is None
    finally:
        api.close()

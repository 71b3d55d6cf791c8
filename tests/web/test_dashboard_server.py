"""The dashboard as served: its routes leave the API's alone, its page is locked down by a
content security policy, every asset it loads ships with the package, and links are stable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from diogen.api import create_app
from diogen.config import load_settings
from diogen.db import make_engine
from diogen.migrations import upgrade
from diogen.web import dashboard_url, mount_dashboard
from diogen.web.dashboard import STATIC

IMPORT = re.compile(r"""^import .*? from "(\.{1,2}/[^"]+)";$""", re.MULTILINE)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'diogen.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(load_settings(None, database_url=url, dashboard_poll_seconds=7))
    with TestClient(app) as running:
        yield running


def test_the_page_is_served_at_the_root_with_a_strict_policy(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert 'data-poll-seconds="7"' in answer.text
    assert "{{" not in answer.text
    # Nothing from another origin: the dashboard works offline.
    assert not re.search(r"""(src|href)="(https?:)?//""", answer.text)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/health", 200), ("/ready", 200), ("/metrics", 200), ("/openapi.json", 200),
     ("/docs", 200), ("/api/v1/teams", 401), ("/api/v1/no-such-route", 404)],
)  # fmt: skip
def test_the_api_routes_are_not_shadowed(client: TestClient, path: str, status: int) -> None:
    answer = client.get(path)
    assert answer.status_code == status
    assert not answer.headers["content-type"].startswith("text/html") or path == "/docs"


def test_the_dashboard_is_not_in_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert all(path.startswith(("/api/", "/health", "/ready", "/metrics")) for path in paths)


def test_assets_are_served_and_revalidated(client: TestClient) -> None:
    script = client.get("/static/js/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "no-cache"
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/nothing-here.js").status_code == 404
    assert client.get("/static/../dashboard.py").status_code == 404


def test_every_module_import_resolves_to_a_shipped_file() -> None:
    modules = sorted(STATIC.rglob("*.js"))
    assert len(modules) > 10
    for module in modules:
        for target in IMPORT.findall(module.read_text(encoding="utf-8")):
            assert (module.parent / target).resolve().is_file(), f"{module.name}: {target}"


def test_the_page_loads_only_files_that_exist(client: TestClient) -> None:
    page = client.get("/").text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset


def test_poll_seconds_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="poll_seconds"):
        mount_dashboard(FastAPI(), poll_seconds=0)


def test_dashboard_url_keeps_the_filters_in_the_fragment() -> None:
    assert dashboard_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/#/overview"
    link = dashboard_url(
        "http://localhost:8000",
        start=date(2024, 1, 1),
        end=datetime(2024, 4, 1, 12, 30, tzinfo=UTC),
        repo="diogen",
        page="deployments",
    )
    assert link == "http://localhost:8000/#/deployments?from=2024-01-01&to=2024-04-01&repo=diogen"
    assert dashboard_url("http://h", team="a b&c").endswith("#/overview?team=a+b%26c")

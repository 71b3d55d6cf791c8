"""The Sources page's connections in headless Chromium against the real API and a fake Asana
over real HTTP: add one with a write-only token, test it (the provider's answer is shown), see
its schedule or why it cannot be scheduled, queue a sync; the token never reaches the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from test_dashboard_browser import SCREENSHOTS, visit
from web_support import Served, serve, wait_ready

from diogen.testing.fake_asana import FakeAsana

TOKEN = "asana-browser-secret-token"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'diogen.db'}"
    with serve(url, secret_key=Fernet.generate_key().decode()) as running:
        yield running


def _add(page: Any, name: str, options: str, token: str | None) -> None:
    form = page.locator("form[aria-label='Add connection']")
    form.locator("select[name=kind]").select_option("asana")
    form.locator("input[name=name]").fill(name)
    form.locator("textarea[name=options]").fill(options)
    if token is not None:
        form.locator("input[name=secret]").fill(token)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"text=Connection {name} stored")
    wait_ready(page)
    page.wait_for_selector(f"button[aria-label='Test {name}']")


def test_add_test_and_sync_a_connection(page: Any, served: Served, shared_data: Path) -> None:
    with FakeAsana(shared_data, token=TOKEN) as asana:
        visit(page, served, "sources")
        assert "No stored connection yet" in page.inner_text("main")
        _add(page, "tasks", f'{{"projects": ["1"], "api_url": "{asana.url}"}}', TOKEN)
        _add(
            page,
            "untokened",
            '{"projects": ["2"], "api_url": "https://asana.example.com/api/1.0"}',
            None,
        )

        page.click("button[aria-label='Test tasks']")
        page.wait_for_selector("[data-test-ok=true]")
        shown = page.locator("[data-test-ok=true]").inner_text()
        api = served.api()
        (tasks,) = [c for c in api.get("/connections").json()["items"] if c["name"] == "tasks"]
        assert shown.endswith("signed in as Greg Sanchez")
        assert tasks["last_test"]["detail"] == "signed in as Greg Sanchez"

    source = tasks["source"]
    row = page.locator("tbody tr", has_text=source).last  # the sources table's row
    assert row.locator("[data-schedule]").inner_text() == "every 15 min"
    assert "connection tasks" in row.inner_text()
    refused = page.locator("[data-schedule^='cannot be scheduled']").first.inner_text()
    assert refused == (
        "cannot be scheduled: no token is set for connection 'untokened': set its `token` secret"
    )
    assert page.locator("[data-secret=token][data-set=true]").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "sources-connections.png"), full_page=True)
    page.click(f"button[aria-label='Sync {source} now']")
    page.wait_for_selector("[data-requested]")
    (listed,) = [s for s in api.get("/sources").json()["items"] if s["source"] == source]
    assert listed["sync_requested_at"] is not None
    assert TOKEN not in page.content()

"""Long lists in the dashboard: the pull-request and deployment tables show their first rows
and add the next on demand, while the numbers above them still count every row; a deployment
opened from the pull-request page (which reads only part of the evidence) shows all of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from web_support import Served, serve, ship_many, wait_ready

# After every window other tests look at: only the deployments shipped here.
LONG_WINDOW = {"from": "2025-05-01", "to": "2025-06-01"}
SHIPPED = 230  # production deployments of one pull request each, more than a table first shows
FIRST_ROWS = 200


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(f"sqlite:///{tmp_path_factory.mktemp('web') / 'diogen.db'}") as running:
        ship_many(running.engine, datetime(2025, 5, 2, tzinfo=UTC), SHIPPED)
        yield running


def visit(page: Any, served: Served, name: str) -> None:
    page.goto(f"{served.url}/#/{name}?{urlencode(LONG_WINDOW)}")
    wait_ready(page)


def rows_of(page: Any, panel: str) -> Any:
    return page.locator(f"section.panel:has(h2:text-is('{panel}')) tbody tr")


def test_pull_requests_show_the_first_rows_then_the_rest(page: Any, served: Served) -> None:
    visit(page, served, "pulls")
    panel = f"Deployed pull requests ({SHIPPED})"
    assert rows_of(page, panel).count() == FIRST_ROWS
    page.click(f"button:has-text('Show {FIRST_ROWS} more ({SHIPPED} in all)')")
    rows_of(page, panel).nth(SHIPPED - 1).wait_for()
    assert rows_of(page, panel).count() == SHIPPED
    assert page.locator("button.more").count() == 0
    report = served.api().get("/analytics/dora", params={**LONG_WINDOW, "explain": True}).json()
    kinds = [c["kind"] for c in report["evidence"]["changes"]]
    assert kinds.count("pull_request") == SHIPPED


def test_a_deployment_opened_from_pull_requests_shows_its_changes(
    page: Any, served: Served
) -> None:
    visit(page, served, "pulls")
    page.locator("section.panel tbody tr button.number-link").first.click()
    page.wait_for_selector("#explain-body h3")
    body = page.inner_text("#explain-body")
    assert "Pull requests (1)" in body
    assert "Changes (1)" in body


def test_deployments_list_a_page_then_the_next(page: Any, served: Served) -> None:
    visit(page, served, "deployments")
    panel = "Deployments, newest first"
    first = rows_of(page, panel)
    assert first.count() == FIRST_ROWS
    newest = first.nth(0).locator("td").nth(0).inner_text()
    page.click(f"button:has-text('Show {FIRST_ROWS} more')")
    rows_of(page, panel).nth(SHIPPED - 1).wait_for()
    assert rows_of(page, panel).count() == SHIPPED
    assert page.locator("button.more").count() == 0
    assert "2025-05-11" in newest  # the last of 230 hourly deployments from 05-02

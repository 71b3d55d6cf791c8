"""The panels that read the flow, sprint and source endpoints, in headless Chromium against
the real API: the numbers shown equal the API's (and the hand counts of web_support), the
sprint picker is a link, keyboard use, no console errors; screenshots to docs/screenshots/."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from test_dashboard_browser import SCREENSHOTS, visit
from web_support import (
    GIT_SOURCE,
    GITHUB_BUDGET,
    GITHUB_SOURCE,
    QUARANTINE_REASON,
    SPRINTS,
    VIEWER,
    WINDOW,
    Console,
    Served,
    sign_in,
    wait_ready,
)


def metric(page: Any, key: str) -> str:
    value: str = page.locator(f"[data-metric={key}]").first.get_attribute("data-value")
    return value


def _team_id(served: Served, name: str) -> str:
    teams = served.api().get("/teams").json()["items"]
    return next(t["id"] for t in teams if t["name"] == name)


def test_team_flow_panels_equal_the_flow_report(page: Any, served: Served) -> None:
    visit(page, served, "team", team="payments")
    api = served.api()
    report = api.get(
        "/analytics/flow", params={**WINDOW, "org": "acme", "team": "payments", "bucket": "week"}
    ).json()
    merged = report["pull_requests"]["throughput"]["merged"]
    assert merged > 0
    assert int(metric(page, "throughput")) == merged
    assert int(metric(page, "wip")) == report["pull_requests"]["wip"]["open"]
    text = page.inner_text("main")
    assert f"{merged} pull requests merged" in text
    assert f"Largest share of cycle time: {report['bottleneck']['stage']}" in text
    velocity = report["sprints"]
    assert velocity["sprints"] == 2
    assert f"over {velocity['sprints']} sprints" in text


def test_review_load_per_person(page: Any, served: Served) -> None:
    visit(page, served, "team", team="payments")
    report = (
        served.api()
        .get("/analytics/review-load", params={**WINDOW, "org": "acme", "team": "payments"})
        .json()
    )
    # Every pull request of payments has one review by the other member (web_support).
    assert {p["name"] for p in report["people"]} == {"alice", "bob"}
    assert int(metric(page, "reviews")) == report["reviews"] > 0
    for person in report["people"]:
        shown = page.locator(f"[data-reviewer='{person['name']}']").get_attribute("data-value")
        assert int(shown) == person["reviews"]
    bars = page.locator("svg[aria-label='Reviews and review comments per person'] .bar")
    assert bars.count() == 2 * len(report["people"])
    bars.first.focus()
    assert page.locator("#tooltip").is_visible()


def test_sprint_burndown_and_burnup(page: Any, served: Served) -> None:
    visit(page, served, "team", team="payments")
    team_id = _team_id(served, "payments")
    listed = served.api().get("/analytics/sprints", params={**WINDOW, "team_id": team_id}).json()
    assert [s["name"] for s in listed["items"]] == list(SPRINTS)
    # The latest sprint is shown first; its figures are the API's and the hand counts.
    latest = listed["items"][-1]
    report = served.api().get(f"/analytics/sprints/{latest['id']}", params={"team_id": team_id})
    expected = SPRINTS["Payments 2"]
    assert float(metric(page, "sprint_committed")) == expected["committed"]
    assert float(metric(page, "sprint_added")) == expected["added"]
    assert float(metric(page, "sprint_completed")) == report.json()["completed"]["points"]
    assert float(metric(page, "sprint_carry_over")) == expected["carry_over"]
    lines = page.locator("svg[aria-label='Burndown and burnup of Payments 2'] path.line")
    assert lines.count() == 4
    points = page.locator("svg[aria-label='Burndown and burnup of Payments 2'] .point")
    assert points.count() == 4 * len(report.json()["series"])
    # Keyboard: choose the first sprint; the choice is in the link.
    page.focus("select[name=sprint]")
    page.select_option("select[name=sprint]", listed["items"][0]["id"])
    page.wait_for_url(f"**sprint={listed['items'][0]['id']}**")
    wait_ready(page)
    first = SPRINTS["Payments 1"]
    assert float(metric(page, "sprint_committed")) == first["committed"]
    assert float(metric(page, "sprint_completed")) == first["completed"]
    assert float(metric(page, "sprint_carry_over")) == first["carry_over"]
    page.locator("svg[aria-label='Burndown and burnup of Payments 1'] .point").first.focus()
    assert page.locator("#tooltip").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "team-sprint.png"), full_page=True)


def test_sources_page_shows_syncs_budget_and_quarantine(page: Any, served: Served) -> None:
    visit(page, served, "sources")
    body = served.api().get("/sources").json()
    (github,) = [s for s in body["items"] if s["source"] == GITHUB_SOURCE]
    row = page.locator("tbody tr", has_text=GITHUB_SOURCE).first  # then its quarantined row
    assert int(row.locator("[data-metric=budget]").get_attribute("data-value")) == GITHUB_BUDGET
    assert github["rate_limit_remaining"] == GITHUB_BUDGET
    shown = row.locator("[data-metric=quarantined]").get_attribute("data-value")
    assert int(shown) == github["quarantined"] == 1
    assert "succeeded 2024-09-29 06:02 UTC" in row.inner_text()
    assert QUARANTINE_REASON in page.inner_text("main")
    # GitHub syncs run from the command line; the git source can be queued for the worker.
    assert row.locator("button").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "sources.png"), full_page=True)
    page.click(f"button[aria-label='Sync {GIT_SOURCE} now']")
    page.wait_for_selector("[data-requested]")
    wait_ready(page)
    (git,) = [s for s in served.api().get("/sources").json()["items"] if s["source"] == GIT_SOURCE]
    shown = page.locator("[data-requested]").get_attribute("data-requested")
    assert git["sync_requested_at"] is not None and shown == git["sync_requested_at"]


def test_sources_page_of_a_viewer_says_who_may_see_it(
    browser: Any, served: Served, console: Console
) -> None:
    context = browser.new_context()
    fresh = context.new_page()
    console.attach(fresh)
    sign_in(fresh, served.url, VIEWER)
    fresh.goto(f"{served.url}/#/sources?{urlencode(WINDOW)}")
    wait_ready(fresh)
    assert "Sources are shown to instance administrators" in fresh.inner_text("main")
    context.close()
    assert console.errors == []

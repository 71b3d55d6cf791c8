"""Flow, team, pull request and sprint reports answer what `diogen.metrics` computes, with
the hand-computed figures of flow_api_support, confined to what the principal may read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api_support import NOW, Rows, World, seed
from flow_api_support import (
    CARRY_OVER_POINTS,
    COMMITTED_POINTS,
    COMPLETED_POINTS,
    FIRST_REVIEW_HOURS,
    LEAD_TIME_HOURS,
    MERGED,
    OPEN_AGE_HOURS,
    PER_WEEK,
    SIZE_LINES,
    STAGE_HOURS,
    WINDOW,
    seed_flow,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.ids import stable_id
from diogen.ingest.models import SyncRun
from diogen.metrics import Scope, dora_report, make_window
from diogen.metrics.flow import flow_report, review_load, sprint_report
from diogen.silver import Identity, Review, Team

V = "/api/v1"


def _seeded(world: World) -> tuple[Rows, str, str]:
    with world.session() as session:
        rows = seed(session, world.org_ids["alpha"])
        sprint = seed_flow(session, rows)
    with Session(world.engine) as session:
        team = session.get_one(Team, rows.team).name
    return rows, sprint, team


def _flow(world: World, scope: Scope, **options: Any) -> dict[str, Any]:
    window = make_window("2024-02-01", "2024-03-02")
    with Session(world.engine) as session:
        return flow_report(session, scope, window, now=NOW, **options)


def test_team_flow_is_the_metrics_document_with_hand_figures(world: World) -> None:
    _, _, team = _seeded(world)
    answer = world.get("alpha:viewer", f"{V}/analytics/flow?org=alpha&team={team}&{WINDOW}")

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report == _flow(world, Scope(org="alpha", team=team))
    pulls = report["pull_requests"]
    assert pulls["throughput"] == {"merged": MERGED, "per_week": PER_WEEK}
    assert pulls["time_to_first_review"]["median_hours"] == FIRST_REVIEW_HOURS
    assert pulls["size"]["median_lines"] == SIZE_LINES
    assert (pulls["wip"]["open"], pulls["wip"]["age"]["median_hours"]) == (1, OPEN_AGE_HOURS)
    (item,) = report["sprints"]["items"]
    assert item["committed"]["points"] == COMMITTED_POINTS
    assert item["completed"]["points"] == COMPLETED_POINTS
    assert item["carry_over"]["points"] == CARRY_OVER_POINTS
    weekly = world.get("alpha:viewer", f"{V}/analytics/flow?team={team}&{WINDOW}&bucket=week")
    assert weekly.json() == _flow(world, Scope(org="alpha", team=team), bucket="week")


def test_members_get_no_organisation_wide_issue_figures(world: World) -> None:
    _seeded(world)
    member = world.get("alpha:viewer", f"{V}/analytics/flow?{WINDOW}").json()
    root = world.get("root", f"{V}/analytics/flow?org=alpha&{WINDOW}").json()

    assert member["issues"] is None and member["sprints"] is None
    assert "organisation" in member["notes"][0]
    assert member["pull_requests"] == root["pull_requests"]
    assert root == _flow(world, Scope(org="alpha"))
    assert root["sprints"]["sprints"] >= 1
    refused = world.get("alpha:viewer", f"{V}/analytics/sprints?{WINDOW}")
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"


def test_team_report_has_dora_and_flow(world: World) -> None:
    rows, _, team = _seeded(world)
    answer = world.get("alpha:viewer", f"{V}/analytics/team/{rows.team}?{WINDOW}")

    assert answer.status_code == 200, answer.text
    scope = Scope(org="alpha", team=team)
    with Session(world.engine) as session:
        dora = dora_report(session, scope, make_window("2024-02-01", "2024-03-02"))
    assert answer.json() == {
        "team_id": rows.team,
        "scope": scope.to_json(),
        "dora": dora,
        "flow": _flow(world, scope),
    }
    other = world.get("beta:admin", f"{V}/analytics/team/{rows.team}?{WINDOW}")
    assert other.status_code == 404


def test_pull_requests_with_their_stages(world: World) -> None:
    rows, _, _ = _seeded(world)
    answer = world.get(
        "alpha:viewer", f"{V}/analytics/pull-requests?repo={rows.repo_name}&{WINDOW}"
    )

    assert answer.status_code == 200, answer.text
    report = answer.json()
    (item,) = report["items"]
    assert report["pull_requests"] == 1
    assert item["pull_request"].endswith("1") and item["lead_time_hours"] == LEAD_TIME_HOURS
    assert item["stages"] == STAGE_HOURS
    stages = report["stages"]
    assert stages["pull_requests"] == 1
    assert [stages[s]["median_hours"] for s in ("coding", "pickup", "review", "deploy")] == [
        1.0,
        4.0,
        16.0,
        27.0,
    ]


def test_sprints_and_one_sprint_report(world: World) -> None:
    rows, sprint, team = _seeded(world)
    listed = world.get("alpha:viewer", f"{V}/analytics/sprints?team_id={rows.team}&{WINDOW}")
    one = world.get("alpha:viewer", f"{V}/analytics/sprints/{sprint}?team_id={rows.team}")

    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()["items"]] == [sprint]
    assert listed.json()["mean_completed_points"] == COMPLETED_POINTS
    assert one.status_code == 200, one.text
    with Session(world.engine) as session:
        expected = sprint_report(session, sprint, Scope(org="alpha", team=team), now=NOW)
    assert one.json() == expected
    series = one.json()["series"]
    assert series[0]["remaining_points"] == COMMITTED_POINTS
    assert series[-1]["completed_points"] == COMPLETED_POINTS
    assert series[-1]["ideal_remaining_points"] == 0.0
    explained = world.get(
        "alpha:viewer", f"{V}/analytics/sprints/{sprint}?team_id={rows.team}&explain=true"
    )
    assert {i["outcome"] for i in explained.json()["evidence"]["issues"]} == {
        "completed",
        "carried_over",
    }


def test_a_sprint_without_the_teams_issues_is_not_found(world: World) -> None:
    _, sprint, _ = _seeded(world)
    with world.session() as session:
        other = seed(session, world.org_ids["alpha"])  # a team with no issues
    answer = world.get("alpha:viewer", f"{V}/analytics/sprints/{sprint}?team_id={other.team}")
    unknown = world.get("root", f"{V}/analytics/sprints/nope")

    assert answer.status_code == 404
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


def test_review_load_per_person(world: World) -> None:
    rows, _, team = _seeded(world)
    answer = world.get("alpha:viewer", f"{V}/analytics/review-load?team={team}&{WINDOW}")
    other = world.get("beta:viewer", f"{V}/analytics/review-load?repo={rows.repo_name}")

    assert answer.status_code == 200, answer.text
    window = make_window("2024-02-01", "2024-03-02")
    with Session(world.engine) as session:
        expected = review_load(session, Scope(org="alpha", team=team), window)
    assert answer.json() == expected
    # Person 1 reviewed #1 (02-27 17:00), the team member's pull request.
    (person,) = answer.json()["people"]
    assert (person["person_id"], person["reviews"], person["share_of_reviews"]) == (
        rows.other_person,
        1,
        1.0,
    )
    assert other.status_code == 404


def test_reports_have_etags_and_follow_the_data(world: World) -> None:
    rows, _, team = _seeded(world)
    url = f"{V}/analytics/review-load?team={team}&{WINDOW}"
    first = world.get("alpha:viewer", url)
    etag = first.headers["etag"]

    unchanged = world.get("alpha:viewer", url, headers={"If-None-Match": etag})
    with world.session() as session:
        # A second review of #1 by person 1, and the run a sync records beside its rows.
        pr = stable_id("test", "pull_request", rows.repo, 1)
        identity = session.scalar(
            select(Identity.id).where(Identity.person_id == rows.other_person)
        )
        session.add(
            Review(
                id=stable_id("test", "review", pr, "again"),
                pull_request_id=pr,
                reviewer_identity_id=identity,
                state="COMMENTED",
                submitted_at=NOW - timedelta(days=1),
                source="test",
                external_id="again",
            )
        )
        session.add(
            SyncRun(
                id="flow-run", source="test", started_at=NOW, finished_at=NOW, status="succeeded"
            )
        )
    changed = world.get("alpha:viewer", url, headers={"If-None-Match": etag})

    assert first.json()["reviews"] == 1
    assert unchanged.status_code == 304
    assert changed.status_code == 200 and changed.json()["reviews"] == 2

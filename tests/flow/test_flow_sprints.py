"""Golden sprint reports: committed vs completed, scope change, carry-over, burndown/burnup.

The data set is `flow_cases.sprint`: sprint S1 started 2024-01-01 10:00 and completed
2024-01-12 10:00 (264 h).
"""

from __future__ import annotations

import pytest
from flow_cases import LATER, WINDOW, core_team, sprint
from flow_support import FlowRows, utc
from sqlalchemy.orm import Session

from diogen.errors import InputError, NotFoundError
from diogen.metrics import Scope
from diogen.metrics.flow import flow_report, issue_flow, sprint_report, sprint_velocity


@pytest.fixture
def s1(session: Session) -> dict[str, str]:
    rows = FlowRows()
    ids = sprint(rows)
    core_team(rows)
    rows.write(session)
    return ids


def test_golden_sprint_figures(session: Session, s1: dict[str, str]) -> None:
    report = sprint_report(session, "S1", now=LATER)
    assert report["id"] == s1["S1"]
    assert (report["start"], report["end"]) == ("2024-01-01T10:00:00Z", "2024-01-12T10:00:00Z")
    assert report["is_complete"] is True
    # In scope at the start (10:00 on 01-01): SP-1 3, SP-2 5, SP-3 2 (added 12-29) and SP-5 1
    # (names the sprint, no scope history) = 11 points. SP-7 is a bot's.
    assert report["committed"] == {"issues": 4, "points": 11.0}
    # Added after the start: SP-4 (8 points when added; 5 now) and SP-6 13 = 21.
    assert report["added_after_start"] == {"issues": 2, "points": 21.0}
    # Removed after the start and still out at the end: SP-3 2 and SP-6 13 = 15.
    assert report["removed_after_start"] == {"issues": 2, "points": 15.0}
    # Scope at the end: SP-1 3, SP-2 5, SP-4 8, SP-5 1 = 17; done then: SP-1 (01-04 12:00),
    # SP-4 (01-10), SP-5 (resolved 01-02) = 12; carried over: SP-2 = 5.
    assert report["scope_at_end"] == {"issues": 4, "points": 17.0}
    assert report["completed"] == {"issues": 3, "points": 12.0}
    assert report["carry_over"] == {"issues": 1, "points": 5.0}
    # 12 / 11 = 1.0909: more was completed than committed, thanks to SP-4.
    assert report["completion_ratio"] == 1.0909
    assert report["unestimated_issues"] == 0


def test_golden_burndown_and_burnup(session: Session, s1: dict[str, str]) -> None:
    points = sprint_report(session, "S1", now=LATER)["series"]
    # Samples: the start, midnights 01-02 … 01-12, the end = 13.
    # scope / completed: 01-02 SP-5 done; 01-03 SP-4 in (+8); 01-05 SP-3 out (-2), SP-1 done
    # (3); 01-06 SP-6 in (+13); 01-08 SP-6 out; 01-10 SP-4 done (8).
    expected = [
        ("2024-01-01T10:00:00Z", 11.0, 0.0),
        ("2024-01-02T00:00:00Z", 11.0, 1.0),
        ("2024-01-03T00:00:00Z", 19.0, 1.0),
        ("2024-01-04T00:00:00Z", 19.0, 1.0),
        ("2024-01-05T00:00:00Z", 17.0, 4.0),
        ("2024-01-06T00:00:00Z", 30.0, 4.0),
        ("2024-01-07T00:00:00Z", 30.0, 4.0),
        ("2024-01-08T00:00:00Z", 17.0, 4.0),
        ("2024-01-09T00:00:00Z", 17.0, 4.0),
        ("2024-01-10T00:00:00Z", 17.0, 12.0),
        ("2024-01-11T00:00:00Z", 17.0, 12.0),
        ("2024-01-12T00:00:00Z", 17.0, 12.0),
        ("2024-01-12T10:00:00Z", 17.0, 12.0),
    ]
    assert [(p["at"], p["scope_points"], p["completed_points"]) for p in points] == expected
    assert [p["remaining_points"] for p in points] == [s - c for _, s, c in expected]
    # Ideal: 11 points falling to 0 over 264 h; at 01-02 00:00, 14 h in: 11 * 250 / 264.
    assert points[0]["ideal_remaining_points"] == 11.0
    assert points[1]["ideal_remaining_points"] == 10.42
    assert points[-1]["ideal_remaining_points"] == 0.0


def test_a_running_sprint_is_cut_at_now(session: Session, s1: dict[str, str]) -> None:
    rows = FlowRows()
    running = rows.sprint(
        "S2",
        started="2024-01-15T09:00",
        completed=None,
        planned=("2024-01-15T09:00", "2024-01-26T17:00"),
    )
    story = rows.issue("SP-9", "2024-01-10T00:00", points=2, sprint=running)
    rows.scope(running, story, "added", "2024-01-14T00:00", 2)
    rows.write(session)
    report = sprint_report(session, running, now=utc("2024-01-16T12:00"))
    assert (report["end"], report["as_of"]) == ("2024-01-26T17:00:00Z", "2024-01-16T12:00:00Z")
    assert report["is_complete"] is False
    assert report["committed"] == {"issues": 1, "points": 2.0}
    assert report["completed"] == {"issues": 0, "points": 0.0}
    assert report["carry_over"] is None  # not until the sprint is complete
    assert [p["at"] for p in report["series"]] == [
        "2024-01-15T09:00:00Z",
        "2024-01-16T00:00:00Z",
        "2024-01-16T12:00:00Z",
    ]


def test_a_future_sprint_has_no_figures(session: Session, s1: dict[str, str]) -> None:
    rows = FlowRows()
    rows.sprint("S3", started=None, completed=None, planned=("2024-03-01", "2024-03-14"))
    rows.write(session)
    report = sprint_report(session, "S3", now=LATER)
    assert report["committed"] is None and report["completed"] is None
    assert report["series"] == []


def test_team_scope_counts_the_teams_issues(session: Session, s1: dict[str, str]) -> None:
    # core = alice and bob (until 01-06; all SP issues were created 12-28): SP-1 3, SP-2 5,
    # SP-4 8 (alice), SP-5 1 (bob). Committed SP-1, SP-2, SP-5 = 9; completed SP-1, SP-4,
    # SP-5 = 12; carry-over SP-2 = 5.
    report = sprint_report(session, "S1", Scope(team="core"), now=LATER)
    assert report["committed"] == {"issues": 3, "points": 9.0}
    assert report["completed"] == {"issues": 3, "points": 12.0}
    assert report["carry_over"] == {"issues": 1, "points": 5.0}


def test_velocity_of_sprints_completed_in_the_window(session: Session, s1: dict[str, str]) -> None:
    sprints = flow_report(session, None, WINDOW, now=LATER)["sprints"]
    assert sprints["sprints"] == 1
    assert sprints["mean_completed_points"] == 12.0
    assert sprints["median_completed_points"] == 12.0
    assert sprints["mean_committed_points"] == 11.0
    assert sprints["completion_ratio"] == 1.0909
    assert [item["name"] for item in sprints["items"]] == ["S1"]


@pytest.mark.parametrize("scope", [None, Scope(team="core")])
def test_sprint_velocity_alone_is_the_flow_reports_section(
    session: Session, s1: dict[str, str], scope: Scope | None
) -> None:
    report = sprint_velocity(session, scope, WINDOW, now=LATER)
    whole = issue_flow(session, scope, WINDOW, now=LATER)
    assert report == {name: whole[name] for name in ("scope", "window", "sprints")}
    assert report["sprints"]["items"]


def test_sprints_are_found_by_id_or_unique_name(session: Session, s1: dict[str, str]) -> None:
    assert sprint_report(session, s1["S1"], now=LATER)["name"] == "S1"
    with pytest.raises(NotFoundError, match="unknown sprint 'S9'; known: S1"):
        sprint_report(session, "S9")
    rows = FlowRows()
    twin = rows.sprint("S1", started=None, completed=None, key="another board's S1")
    rows.write(session)
    with pytest.raises(InputError, match=f"2 sprints are called 'S1'; give one id: .*{twin}"):
        sprint_report(session, "S1")
    with pytest.raises(InputError, match="issues and sprints carry no repository"):
        sprint_report(session, s1["S1"], Scope(repo="api"))

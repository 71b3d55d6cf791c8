"""Golden issue flow reports, every expected number worked out by hand in comments.

The data set is `flow_cases.issues`; window Monday 2024-01-01 to Monday 2024-01-15.
"""

from __future__ import annotations

import pytest
from flow_cases import LATER, WINDOW, core_team, issues, pull_requests
from flow_support import FlowRows
from sqlalchemy.orm import Session

from diogen.errors import InputError
from diogen.metrics import Scope
from diogen.metrics.flow import flow_report, issue_flow


@pytest.fixture
def eng(session: Session) -> dict[str, str]:
    rows = FlowRows()
    ids = issues(rows)
    core_team(rows)
    rows.write(session)
    return ids


def test_golden_issue_figures(session: Session, eng: dict[str, str]) -> None:
    report = issue_flow(session, None, WINDOW, now=LATER)
    figures = report["issues"]
    assert figures["rule"].startswith("every issue")
    # Done in the window: ENG-1 (01-05), ENG-2 (01-07), ENG-3 (01-08), ENG-4 (01-10) and
    # ENG-7 (no resolution date; entered Done 01-10). Not ENG-5 (a bot's), ENG-6 (before),
    # ENG-8 (not done). 5 issues / 2 weeks = 2.5 per week.
    assert figures["completed"] == {"issues": 5, "per_week": 2.5}
    # Lead time (created -> done): ENG-1 96 h, ENG-2 96 h, ENG-3 72 h, ENG-4 16 days =
    # 384 h, ENG-7 72 h. Sorted [72, 72, 96, 96, 384]: median 96; p75 rank 3 -> 96;
    # p90 rank 3.6 -> 96 + 0.6 * 288 = 268.8.
    assert figures["lead_time"] == {
        "issues": 5,
        "median_hours": 96.0,
        "p75_hours": 96.0,
        "p90_hours": 268.8,
    }
    # Cycle time (first move to in progress -> done): ENG-1 01-02 -> 01-05 = 72 h, ENG-2
    # 01-03 12:00 -> 01-07 = 84 h, ENG-7 01-08 -> 01-10 = 48 h. ENG-3 never started, ENG-4
    # has no history. Sorted [48, 72, 84]: median 72; p75 72 + 0.5 * 12 = 78; p90 81.6.
    assert figures["cycle_time"] == {
        "issues": 3,
        "median_hours": 72.0,
        "p75_hours": 78.0,
        "p90_hours": 81.6,
    }
    # Active = in progress under a status that does not say it waits. ENG-1: In Progress
    # 24 + 24 = 48, Blocked 24 waiting. ENG-2: In Progress 24, Ready for QA 60 waiting.
    # ENG-7: In Progress 48. Active 120, waiting 84: 120 / 204 = 0.5882.
    assert figures["flow_efficiency"] == {
        "issues": 3,
        "active_hours": 120.0,
        "waiting_hours": 84.0,
        "efficiency": 0.5882,
    }


def test_golden_time_in_status(session: Session, eng: dict[str, str]) -> None:
    statuses = issue_flow(session, None, WINDOW, now=LATER)["issues"]["time_in_status"]
    # Issues with history done in the window: ENG-1, 2, 3, 7 (ENG-4 has none).
    # To Do: ENG-1 24, ENG-2 12, ENG-3 72, ENG-7 24 = 132 h; sorted [12, 24, 24, 72]:
    #   median 24, p75 rank 2.25 -> 24 + 0.25 * 48 = 36, p90 rank 2.7 -> 24 + 0.7 * 48 = 57.6.
    # In Progress: ENG-1 48, ENG-2 24, ENG-7 48 = 120 h; [24, 48, 48]: 48, 48, 48.
    # Ready for QA: ENG-2 60 h. Blocked: ENG-1 24 h. Done: 0 h (done when it got there).
    # The four issues lived 96 + 96 + 72 + 72 = 336 h = 132 + 120 + 60 + 24.
    # Shares: 132/336 = 0.3929, 120/336 = 0.3571, 60/336 = 0.1786, 24/336 = 0.0714.
    assert statuses == [
        {
            "status": "To Do",
            "category": "todo",
            "issues": 4,
            "total_hours": 132.0,
            "median_hours": 24.0,
            "p75_hours": 36.0,
            "p90_hours": 57.6,
            "share": 0.3929,
        },
        {
            "status": "In Progress",
            "category": "in_progress",
            "issues": 3,
            "total_hours": 120.0,
            "median_hours": 48.0,
            "p75_hours": 48.0,
            "p90_hours": 48.0,
            "share": 0.3571,
        },
        {
            "status": "Ready for QA",
            "category": "in_progress",
            "issues": 1,
            "total_hours": 60.0,
            "median_hours": 60.0,
            "p75_hours": 60.0,
            "p90_hours": 60.0,
            "share": 0.1786,
        },
        {
            "status": "Blocked",
            "category": "in_progress",
            "issues": 1,
            "total_hours": 24.0,
            "median_hours": 24.0,
            "p75_hours": 24.0,
            "p90_hours": 24.0,
            "share": 0.0714,
        },
    ]


def test_golden_issue_buckets(session: Session, eng: dict[str, str]) -> None:
    buckets = issue_flow(session, None, WINDOW, bucket="week", now=LATER)["buckets"]
    # Week of 01-01: ENG-1 (lead 96, cycle 72, active 48 of 72) and ENG-2 (96, 84, 24 of
    # 84): medians 96 and 78, efficiency 72 / 156 = 0.4615.
    # Week of 01-08: ENG-3 (72), ENG-4 (384), ENG-7 (72, cycle 48, all active): lead median
    # 72, cycle 48, efficiency 1.0.
    assert [
        (
            b["start"],
            b["issues_completed"],
            b["median_issue_lead_time_hours"],
            b["median_cycle_time_hours"],
            b["flow_efficiency"],
        )
        for b in buckets
    ] == [
        ("2024-01-01T00:00:00Z", 2, 96.0, 78.0, 0.4615),
        ("2024-01-08T00:00:00Z", 3, 72.0, 48.0, 1.0),
    ]


def test_team_scope_uses_the_assignee_when_the_issue_was_created(
    session: Session, eng: dict[str, str]
) -> None:
    figures = issue_flow(session, Scope(team="core"), WINDOW, now=LATER)["issues"]
    # alice's ENG-1 and ENG-4; bob's ENG-2 (created 01-03, a member until 01-06). Not bob's
    # ENG-7, created 01-07 after he left, nor carol's ENG-3. Leads 96, 384, 96 -> median 96.
    assert figures["rule"].startswith("issues whose assignee was a member")
    assert figures["completed"]["issues"] == 3
    assert figures["lead_time"]["median_hours"] == 96.0


def test_waiting_statuses_are_configurable(session: Session, eng: dict[str, str]) -> None:
    # A pattern no status name matches: Blocked and Ready for QA are active too, 120 + 84 h.
    report = issue_flow(session, None, WINDOW, waiting_status_pattern="^$", now=LATER)
    efficiency = report["issues"]["flow_efficiency"]
    assert (efficiency["active_hours"], efficiency["waiting_hours"]) == (204.0, 0.0)
    assert efficiency["efficiency"] == 1.0


def test_repository_scope_has_no_issues(session: Session, eng: dict[str, str]) -> None:
    rows = FlowRows()
    pull_requests(rows)
    rows.write(session)
    with pytest.raises(InputError, match="issues and sprints carry no repository"):
        issue_flow(session, Scope(repo="api"), WINDOW)
    report = flow_report(session, Scope(repo="api"), WINDOW, now=LATER)
    assert report["issues"] is None and report["sprints"] is None
    assert report["notes"] == [
        "issues and sprints carry no repository or service; ask for the organisation or a "
        "team to see issue and sprint flow"
    ]
    assert report["pull_requests"]["throughput"]["merged"] == 3


def test_bad_waiting_pattern(session: Session) -> None:
    with pytest.raises(InputError, match="waiting status pattern"):
        issue_flow(session, None, WINDOW, waiting_status_pattern="[")

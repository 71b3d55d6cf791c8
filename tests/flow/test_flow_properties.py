"""Invariants of the flow metrics over generated silver data, on SQLite and PostgreSQL.

Each example writes its rows in one transaction, computes and rolls back, so one migrated
database serves every example of a test. Reports must not depend on the order rows were
stored in, nor change when the same rows are ingested again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flow_support import FlowRows, utc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from diogen.metrics import Window
from diogen.metrics.flow import issue_flow, pr_flow, sprint_report

START = utc("2024-01-01")
WINDOW = Window(START, utc("2024-01-29"))
NOW = utc("2024-03-01")
STATUSES = [
    ("To Do", "new"),
    ("In Progress", "indeterminate"),
    ("Blocked", "indeterminate"),
    ("In Review", "indeterminate"),
    ("Done", "done"),
]
PEOPLE = ("ann", "ben", "cat", "renovate[bot]")
DB_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

minutes = st.integers(min_value=-3 * 1440, max_value=30 * 1440)


def at(offset: int) -> str:
    return (START + timedelta(minutes=offset)).isoformat(timespec="minutes")[:16]


def run(engine: Engine, rows: FlowRows, compute: Callable[[Session], Any], **write: Any) -> Any:
    """Write `rows`, compute, and roll back so the next example starts empty."""
    with Session(engine) as session:
        try:
            rows.write(session, **write)
            return compute(session)
        finally:
            session.rollback()


def assert_order_free(engine: Engine, rows: FlowRows, compute: Callable[[Session], Any]) -> Any:
    """The same answer stored in order, shuffled, and shuffled and ingested twice."""
    first = run(engine, rows, compute)
    assert run(engine, rows, compute, seed=7) == first
    assert run(engine, rows, compute, seed=11, times=2) == first
    return first


# Issues


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, str, str, str, str]]:
    """Status moves (time, from, to, from category, to category), ties allowed."""
    moves = []
    status = STATUSES[0]
    offset = draw(st.integers(-1440, 10 * 1440))
    for _ in range(draw(st.integers(0, 6))):
        offset += draw(st.sampled_from([0, 30, 600, 1440, 3000]))
        target = draw(st.sampled_from([s for s in STATUSES if s != status]))
        if any(m[0] == at(offset) and m[2] == target[0] for m in moves):
            continue
        moves.append((at(offset), status[0], target[0], status[1], target[1]))
        status = target
    return moves


@st.composite
def issue_sets(draw: st.DrawFn) -> FlowRows:
    rows = FlowRows()
    who = {name: rows.person(name) for name in PEOPLE}
    for number in range(draw(st.integers(1, 6))):
        moves = draw(histories())
        created = draw(minutes)
        done = bool(moves) and moves[-1][2] == "Done"
        dated = done and draw(st.booleans())
        last = moves[-1] if moves else ("", "To Do", "To Do", "new", "new")
        resolved = draw(st.one_of(st.none(), minutes.map(at))) if not moves else None
        rows.issue(
            f"P-{number}",
            at(created),
            resolved=last[0] if dated else resolved,
            status=last[2],
            category="done" if resolved else last[4],
            points=draw(st.sampled_from([None, 1, 2, 3, 5])),
            assignee=who[draw(st.sampled_from(PEOPLE))],
            moves=moves,
        )
    return rows


@DB_SETTINGS
@given(rows=issue_sets())
def test_issue_flow_invariants(engine: Engine, rows: FlowRows) -> None:
    report = assert_order_free(
        engine, rows, lambda s: issue_flow(s, None, WINDOW, bucket="week", explain=True, now=NOW)
    )
    issues = report["evidence"]["issues"]["issues"]
    for issue in issues:
        if issue["cycle_time_hours"] is not None:
            assert 0 <= issue["cycle_time_hours"] <= issue["lead_time_hours"] + 0.01
            assert (
                abs(issue["active_hours"] + issue["waiting_hours"] - issue["cycle_time_hours"])
                < 0.02
            )
        tracked = issue["time_in_status_hours"]
        if tracked:  # the status segments cover the issue's whole life, creation to done
            assert abs(sum(tracked.values()) - issue["lead_time_hours"]) < 0.01 * (len(tracked) + 1)
    figures = report["issues"]
    assert figures["completed"]["issues"] == len(issues)
    assert figures["lead_time"]["issues"] == len(issues)
    efficiency = figures["flow_efficiency"]["efficiency"]
    assert efficiency is None or 0 <= efficiency <= 1
    assert sum(b["issues_completed"] for b in report["buckets"]) == len(issues)
    for summary in (figures["lead_time"], figures["cycle_time"]):
        assert_ordered(summary)


def assert_ordered(summary: dict[str, Any]) -> None:
    values = [summary["median_hours"], summary["p75_hours"], summary["p90_hours"]]
    if values[0] is not None:
        assert values == sorted(values)


# Pull requests


@st.composite
def pull_request_sets(draw: st.DrawFn) -> FlowRows:
    rows = FlowRows()
    who = {name: rows.person(name) for name in PEOPLE}
    repo = rows.repo("r")
    for number in range(1, draw(st.integers(1, 8)) + 1):
        created = draw(minutes)
        later = st.integers(0, 20 * 1440).map(lambda d, c=created: at(c + d))
        shas = [f"{number}-{i}" for i in range(draw(st.integers(0, 2)))]
        for sha in shas:
            rows.commit(repo, sha, at(created - draw(st.integers(0, 5 * 1440))))
        merged = draw(st.one_of(st.none(), later))
        pr_id = rows.pr(
            repo,
            number,
            who[draw(st.sampled_from(PEOPLE))],
            at(created),
            ready=draw(st.one_of(st.none(), later)),
            merged=merged,
            closed=None if merged else draw(st.one_of(st.none(), later)),
            draft=draw(st.booleans()),
            size=draw(st.tuples(st.integers(0, 900), st.one_of(st.none(), st.integers(0, 300)))),
            commits=shas,
        )
        for _ in range(draw(st.integers(0, 3))):
            state = draw(st.sampled_from(["APPROVED", "COMMENTED", "CHANGES_REQUESTED"]))
            rows.review(pr_id, who[draw(st.sampled_from(PEOPLE))], draw(later), state)
        for _ in range(draw(st.integers(0, 3))):
            rows.comment(pr_id, who[draw(st.sampled_from(PEOPLE))], draw(later))
    return rows


@DB_SETTINGS
@given(rows=pull_request_sets())
def test_pull_request_flow_invariants(engine: Engine, rows: FlowRows) -> None:
    report = assert_order_free(
        engine, rows, lambda s: pr_flow(s, None, WINDOW, bucket="week", explain=True, now=NOW)
    )
    figures, evidence = report["pull_requests"], report["evidence"]["pull_requests"]
    merged = figures["throughput"]["merged"]
    assert merged == len(evidence["merged"]) == figures["review_depth"]["pull_requests"]
    assert sum(b["merged"] for b in report["buckets"]) == merged
    assert sum(figures["size"]["classes"].values()) == figures["size"]["pull_requests"]
    assert figures["size"]["pull_requests"] + figures["size"]["unknown"] == merged
    assert figures["wip"]["open"] == len(evidence["open"]) == report["buckets"][-1]["wip"]
    assert sum(figures["wip"]["age_bands"].values()) == figures["wip"]["open"]
    assert_ordered(figures["time_to_first_review"])
    for stage in report["bottleneck"]["stages"]:
        assert_ordered(stage)
        assert stage["median_hours"] is None or stage["median_hours"] >= 0
    for row in evidence["stages"]:
        assert all(
            row[f"{name}_hours"] is None or row[f"{name}_hours"] >= 0
            for name in ("coding", "pickup", "review")
        )


# Sprints


@st.composite
def sprint_sets(draw: st.DrawFn) -> tuple[FlowRows, str]:
    rows = FlowRows()
    who = {name: rows.person(name) for name in PEOPLE}
    completed = draw(st.one_of(st.none(), st.integers(3 * 1440, 14 * 1440).map(at)))
    sprint = rows.sprint(
        "S", started=at(2 * 1440 + 600), completed=completed, planned=(at(2 * 1440), at(16 * 1440))
    )
    for number in range(draw(st.integers(1, 6))):
        moves = draw(histories())
        issue = rows.issue(
            f"S-{number}",
            at(-5 * 1440),
            points=draw(st.sampled_from([None, 1, 2, 3, 5, 8])),
            assignee=who[draw(st.sampled_from(PEOPLE))],
            sprint=sprint if draw(st.booleans()) else None,
            moves=moves,
            status=moves[-1][2] if moves else "To Do",
        )
        seen = set()
        for _ in range(draw(st.integers(0, 4))):
            change = (draw(st.sampled_from(["added", "removed"])), at(draw(minutes)))
            if change not in seen:
                seen.add(change)
                rows.scope(sprint, issue, *change, draw(st.sampled_from([None, 2, 3])))
    return rows, sprint


@DB_SETTINGS
@given(case=sprint_sets())
def test_sprint_invariants(engine: Engine, case: tuple[FlowRows, str]) -> None:
    rows, sprint = case
    report = assert_order_free(engine, rows, lambda s: sprint_report(s, sprint, now=NOW))
    series = report["series"]
    assert series[0]["scope_points"] == report["committed"]["points"]
    assert series[-1]["completed_points"] == report["completed"]["points"]
    assert series[-1]["scope_points"] == report["scope_at_end"]["points"]
    for point in series:
        assert (
            abs(point["scope_points"] - point["completed_points"] - point["remaining_points"])
            < 0.011
        )
        assert 0 <= point["completed_points"] <= point["scope_points"]
    if report["carry_over"] is not None:
        total = report["completed"]["points"] + report["carry_over"]["points"]
        assert abs(total - report["scope_at_end"]["points"]) < 0.011
        assert (
            report["completed"]["issues"] + report["carry_over"]["issues"]
            == (report["scope_at_end"]["issues"])
        )

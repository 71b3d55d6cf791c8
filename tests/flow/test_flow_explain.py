"""`explain=True`: the rows behind each figure and, for every row left out, the metric and why."""

from __future__ import annotations

from collections.abc import Callable

from flow_cases import LATER, WINDOW, issues, pull_requests, sprint
from flow_support import FlowRows
from sqlalchemy import event
from sqlalchemy.orm import Session

from diogen.metrics import Scope
from diogen.metrics.flow import flow_report, issue_flow, pr_flow, sprint_report


def _reasons(rows: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {(r["kind"], r.get("number") or r.get("key"), r["metric"], r["reason"]) for r in rows}


def test_pull_request_evidence(session: Session) -> None:
    rows = FlowRows()
    ids = pull_requests(rows)
    rows.write(session)
    evidence = pr_flow(session, Scope(repo="api"), WINDOW, explain=True, now=LATER)["evidence"]
    prs = evidence["pull_requests"]
    assert [r["number"] for r in prs["merged"]] == [1, 2, 3]
    assert prs["merged"][0] == {
        "id": ids["1"],
        "repo": "api",
        "number": 1,
        "url": "https://example.com/pull/1",
        "author": "alice",
        "merged_at": "2024-01-02T17:00:00Z",
        "size_lines": 25,
        "size_class": "S",
        "reviews": 1,
        "review_comments": 2,
        "review_depth": 3,
    }
    assert [(r["number"], r["hours"], r["source"]) for r in prs["first_reviews"]] == [
        (1, 4.0, "review"),
        (2, 24.0, "review"),
        (5, 12.0, "review"),
    ]
    assert [(r["number"], r["age_hours"]) for r in prs["open"]] == [
        (7, 624.0),
        (5, 112.0),
        (8, 96.0),
    ]
    assert [
        (r["number"], r["coding_hours"], r["pickup_hours"], r["review_hours"])
        for r in prs["stages"]
    ] == [(1, 24.0, 4.0, 4.0), (2, 26.0, 24.0, 72.0), (3, None, None, 3.0)]
    assert _reasons(prs["excluded"]) == {
        ("pull_request", 4, "all", "bot_author"),
        ("pull_request", 10, "all", "bot_author"),
        ("pull_request", 6, "wip", "draft"),
        ("pull_request", 11, "wip", "closed_time_unknown"),
        ("pull_request", 3, "coding", "first_commit_unknown"),
        ("pull_request", 3, "pickup", "unreviewed"),
        ("review", 1, "reviews", "author_review"),
        ("review", 1, "reviews", "bot_reviewer"),
        ("review_comment", 1, "review_depth", "author_review_comment"),
    }
    by_reason = {r["reason"]: r for r in prs["excluded"]}
    assert by_reason["author_review"]["identity"] == "alice-git"  # alice's other identity
    assert by_reason["bot_reviewer"]["detail"] == "'dependabot[bot]' matches the bot pattern"
    assert "identity" not in by_reason["draft"]
    bots = [r for r in prs["excluded"] if r["reason"] == "bot_author"]
    assert [r["detail"] for r in bots] == [
        "'dependabot[bot]' matches the bot pattern",
        "the person is marked as a bot",
    ]


def test_issue_evidence(session: Session) -> None:
    rows = FlowRows()
    ids = issues(rows)
    rows.write(session)
    evidence = issue_flow(session, None, WINDOW, explain=True, now=LATER)["evidence"]["issues"]
    assert [r["key"] for r in evidence["issues"]] == ["ENG-1", "ENG-2", "ENG-3", "ENG-4", "ENG-7"]
    assert evidence["issues"][0] == {
        "id": ids["1"],
        "key": "ENG-1",
        "type": "Story",
        "url": None,
        "assignee": "alice",
        "created_at": "2024-01-01T00:00:00Z",
        "started_at": "2024-01-02T00:00:00Z",
        "done_at": "2024-01-05T00:00:00Z",
        "lead_time_hours": 96.0,
        "deployed_at": None,  # no linked change reached production
        "lead_time_to_deployment_hours": None,
        "cycle_time_hours": 72.0,
        "active_hours": 48.0,
        "waiting_hours": 24.0,
        "time_in_status_hours": {"To Do": 24.0, "In Progress": 48.0, "Blocked": 24.0},
    }
    assert evidence["issues"][-1]["done_at"] == "2024-01-10T00:00:00Z"  # ENG-7, by transition
    assert _reasons(evidence["excluded"]) == {
        ("issue", "ENG-3", "cycle_time", "never_started"),
        ("issue", "ENG-3", "flow_efficiency", "never_started"),
        ("issue", "ENG-4", "cycle_time", "no_status_history"),
        ("issue", "ENG-4", "flow_efficiency", "no_status_history"),
        ("issue", "ENG-4", "time_in_status", "no_status_history"),
        ("issue", "ENG-5", "all", "bot_assignee"),
    }


def test_sprint_evidence(session: Session) -> None:
    rows = FlowRows()
    sprint(rows)
    rows.write(session)
    evidence = sprint_report(session, "S1", explain=True, now=LATER)["evidence"]
    assert [
        (
            r["key"],
            r["source"],
            r["committed"],
            r["added_at"],
            r["removed_at"],
            r["points"],
            r["outcome"],
        )
        for r in evidence["issues"]
    ] == [
        ("SP-1", "scope_history", True, None, None, 3.0, "completed"),
        ("SP-2", "scope_history", True, None, None, 5.0, "carried_over"),
        ("SP-3", "scope_history", True, None, "2024-01-05T00:00:00Z", 2.0, "removed"),
        ("SP-4", "scope_history", False, "2024-01-03T00:00:00Z", None, 8.0, "completed"),
        ("SP-5", "issue.sprint_id", True, None, None, 1.0, "completed"),
        (
            "SP-6",
            "scope_history",
            False,
            "2024-01-06T00:00:00Z",
            "2024-01-08T00:00:00Z",
            13.0,
            "removed",
        ),
    ]
    assert _reasons(evidence["excluded"]) == {("issue", "SP-7", "all", "bot_assignee")}


def test_flow_report_gathers_every_evidence(session: Session) -> None:
    rows = FlowRows()
    pull_requests(rows)
    issues(rows)
    s1 = sprint(rows)["S1"]
    rows.write(session)
    report = flow_report(session, None, WINDOW, bucket="day", explain=True, now=LATER)
    assert set(report["evidence"]) == {"pull_requests", "issues", "sprints"}
    assert [(s["id"], s["name"]) for s in report["evidence"]["sprints"]] == [(s1, "S1")]
    assert len(report["buckets"]) == 14
    assert report["notes"] == []
    assert "evidence" not in flow_report(session, None, WINDOW, now=LATER)


def _statements(session: Session, run: Callable[[], object]) -> int:
    executed: list[str] = []

    def record(*args: object) -> None:
        executed.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(executed)


def test_query_count_does_not_grow_with_data(session: Session) -> None:
    rows = FlowRows()
    pull_requests(rows)
    issues(rows)
    sprint(rows)
    rows.write(session)

    def report() -> object:
        return flow_report(session, None, WINDOW, bucket="day", explain=True, now=LATER)

    small = _statements(session, report)
    # Pull requests (6 queries), issues (4, with their first deployments) and sprints (7: the
    # issues of the sprints by their scope history and by their sprint field, then the five
    # reads): 17 in all.
    assert small == 17
    more = FlowRows()
    alice = more.person("alice")
    repo = more.repo("busy")
    for day in range(1, 15):
        pr = more.pr(
            repo, day, alice, f"2024-01-{day:02d}T00:00", merged=f"2024-01-{day:02d}T09:00"
        )
        more.review(pr, more.person(f"reviewer{day}"), f"2024-01-{day:02d}T04:00")
        more.issue(f"BUSY-{day}", f"2024-01-{day:02d}T00:00", resolved=f"2024-01-{day:02d}T08:00")
        more.sprint(
            f"B{day}", started=f"2024-01-{day:02d}T00:00", completed=f"2024-01-{day:02d}T09:00"
        )
    more.write(session)
    assert _statements(session, report) == small
    one = _statements(session, lambda: sprint_report(session, "S1", now=LATER))
    assert one == 7 + 2  # the sprint's id, then its name; then its seven statements

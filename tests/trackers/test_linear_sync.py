"""A Linear sync of the golden story (linear_cases) on SQLite and PostgreSQL: silver rows
checked against hand-computed expectations, then the flow sprint report and burndown."""

from __future__ import annotations

from datetime import datetime

from linear_cases import utc
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tracker_support import Sync

from diogen.db import upsert
from diogen.metrics.flow import sprint_report
from diogen.metrics.flow.actors import bot_rule
from diogen.silver import (
    Identity,
    Issue,
    IssueStatusTransition,
    Person,
    Sprint,
    SprintScopeChange,
)
from diogen.silver.base import table_of
from diogen.silver.identities import Account, git_identity_rows
from diogen.testing.fake_linear import FakeLinear

C1, C2 = "ENG Cycle 1", "ENG Cycle 2"


def scope_rows(session: Session) -> set[tuple[str, str, str, float | None, datetime]]:
    query = (
        select(
            Issue.key,
            Sprint.name,
            SprintScopeChange.change,
            SprintScopeChange.story_points,
            SprintScopeChange.changed_at,
        )
        .join(Issue, Issue.id == SprintScopeChange.issue_id)
        .join(Sprint, Sprint.id == SprintScopeChange.sprint_id)
    )
    return {tuple(row) for row in session.execute(query)}  # type: ignore[misc]


def test_golden_linear_sync(engine: Engine, linear_sync: Sync, linear: FakeLinear) -> None:
    with Session(engine) as session:
        person, identity = git_identity_rows(
            Account("Alice L", "alice@example.com", "", ""), bot_rule()
        )
        upsert(session, table_of(Person), [person])
        upsert(session, table_of(Identity), [identity])
        session.commit()
    result = linear_sync()
    assert result.rejected == 0
    assert result.source == f"linear@{linear.organization['id']}"
    assert (result.summary["issues"], result.summary["cycles"]) == (6, 2)
    check_scope_history(engine)
    check_issues_and_sprints(engine, linear)
    check_sprint_report(engine)


def check_scope_history(engine: Engine) -> None:
    with Session(engine) as session:
        assert scope_rows(session) == {
            ("ENG-1", C1, "added", 3.0, utc("2024-03-01T10:00")),
            # Re-estimated mid-cycle: a second `added` with 8 points.
            ("ENG-2", C1, "added", 5.0, utc("2024-03-01T11:00")),
            ("ENG-2", C1, "added", 8.0, utc("2024-03-06T10:00")),
            # Moved on when C1 completed: carry-over, C1 keeps it (no `removed`).
            ("ENG-2", C2, "added", 8.0, utc("2024-03-18T00:00")),
            ("ENG-3", C1, "added", 2.0, utc("2024-03-06T09:00")),
            ("ENG-4", C1, "added", 1.0, utc("2024-03-01T12:00")),
            ("ENG-4", C1, "removed", 1.0, utc("2024-03-07T15:00")),
            ("ENG-5", C1, "added", 3.0, utc("2024-03-05T09:00")),
            ("ENG-5", C1, "removed", 3.0, utc("2024-03-07T09:00")),
            ("ENG-5", C1, "added", 3.0, utc("2024-03-08T09:00")),
            ("ENG-5", C1, "added", 5.0, utc("2024-03-11T09:00")),
            ("ENG-5", C2, "added", 5.0, utc("2024-03-18T00:00")),
            ("ENG-6", C2, "added", 2.0, utc("2024-03-14T10:00")),
        }


def check_issues_and_sprints(engine: Engine, linear: FakeLinear) -> None:
    with Session(engine) as session:
        sprints = {s.name: s for s in session.scalars(select(Sprint))}
        one, two = sprints[C1], sprints[C2]
        assert (one.board, one.state, one.started_at, one.completed_at) == (
            "ENG",
            "closed",
            utc("2024-03-04T00:00"),
            utc("2024-03-18T00:00"),
        )
        assert (two.state, two.started_at, two.planned_end, two.completed_at) == (
            "active",
            utc("2024-03-18T00:00"),
            utc("2024-04-01T00:00"),
            None,
        )
        issues = {i.key: i for i in session.scalars(select(Issue))}
        assert len(issues) == 6
        eng2 = issues["ENG-2"]
        assert (eng2.story_points, eng2.status, eng2.status_category, eng2.sprint_id) == (
            8.0,
            "Done",
            "done",
            two.id,
        )
        assert (eng2.resolved_at, eng2.project, eng2.type) == (
            utc("2024-03-20T12:00"),
            "ENG",
            None,
        )
        assert eng2.url == "https://linear.app/webhooks/issue/ENG-2"
        assert (issues["ENG-4"].sprint_id, issues["ENG-4"].status_category) == (None, "todo")
        assert issues["ENG-1"].epic_key == "Sync"  # the Linear project
        assert issues["ENG-6"].parent_id == issues["ENG-1"].id
        history = session.execute(
            select(
                IssueStatusTransition.from_status,
                IssueStatusTransition.to_status,
                IssueStatusTransition.from_category,
                IssueStatusTransition.to_category,
                IssueStatusTransition.changed_at,
            )
            .where(IssueStatusTransition.issue_id == issues["ENG-5"].id)
            .order_by(IssueStatusTransition.changed_at)
        ).all()
        assert [tuple(row) for row in history] == [
            ("Todo", "In Progress", "todo", "in_progress", utc("2024-03-12T09:00")),
            ("In Progress", "Done", "in_progress", "done", utc("2024-03-19T15:00")),
        ]
        # ENG-1 2, ENG-2 2, ENG-3 2, ENG-5 2, ENG-6 1.
        assert len(session.scalars(select(IssueStatusTransition)).all()) == 9
        identities = {i.name: i for i in session.scalars(select(Identity))}
        alice = identities["Alice Liddell"]
        assert (alice.provider, alice.email, alice.login) == (
            "linear",
            "alice@example.com",
            "alice",
        )
        assert issues["ENG-1"].assignee_identity_id == alice.id
        assert alice.person_id == identities["Alice L"].person_id  # merged by email with git
        (bob_move,) = session.scalars(
            select(IssueStatusTransition).where(
                IssueStatusTransition.issue_id == issues["ENG-6"].id
            )
        ).all()
        assert bob_move.author_identity_id == identities["Bob Builder"].id


def check_sprint_report(engine: Engine) -> None:
    with Session(engine) as session:
        one = sprint_report(session, C1, now=utc("2024-03-25T00:00"))
        two = sprint_report(session, C2, now=utc("2024-03-25T00:00"))
    # Committed at 03-04 00:00: ENG-1 3, ENG-2 5, ENG-4 1.
    assert one["committed"] == {"issues": 3, "points": 9.0}
    # Added after the start: ENG-3 (2) and ENG-5 (5 at the end; removed and re-added).
    assert one["added_after_start"] == {"issues": 2, "points": 7.0}
    assert one["removed_after_start"] == {"issues": 1, "points": 1.0}  # ENG-4
    # At the end: ENG-1 3, ENG-2 8, ENG-3 2, ENG-5 5 = 18; done then: ENG-1, ENG-3 = 5;
    # carried over: ENG-2 and ENG-5 (done in C2) = 13.
    assert one["scope_at_end"] == {"issues": 4, "points": 18.0}
    assert one["completed"] == {"issues": 2, "points": 5.0}
    assert one["carry_over"] == {"issues": 2, "points": 13.0}
    assert one["completion_ratio"] == 0.5556
    series = one["series"]
    assert [p["at"][:10] for p in series] == [f"2024-03-{day:02d}" for day in range(4, 19)]
    # Midnights 03-04 … 03-18: ENG-5 in 03-05 09:00 (3), ENG-2 → 8 and ENG-3 in on 03-06;
    # ENG-5 and ENG-4 out on 03-07; ENG-5 back on 03-08, ENG-1 done 03-08 12:00; ENG-5 → 5
    # on 03-11; ENG-3 done 03-12 16:00.
    assert [p["scope_points"] for p in series] == [9, 9, 12, 17, 13, 16, 16, 16] + [18] * 7
    assert [p["completed_points"] for p in series] == [0] * 5 + [3] * 4 + [5] * 6
    assert [p["remaining_points"] for p in series] == [9, 9, 12, 17, 13, 13, 13, 13, 15] + [13] * 6
    ideal = [p["ideal_remaining_points"] for p in series]
    assert (ideal[0], ideal[7], ideal[-1]) == (9.0, 4.5, 0.0)  # 9 x (14 - days) / 14
    # C2, running on 03-25: ENG-2 (8) and ENG-5 (5) carried in at its start, ENG-6 (2).
    assert two["committed"] == {"issues": 3, "points": 15.0}
    assert two["added_after_start"] == {"issues": 0, "points": 0.0}
    assert two["completed"] == {"issues": 2, "points": 13.0}
    assert two["carry_over"] is None

"""A Jira sync of the golden story (jira_cases) on Cloud and Server, on SQLite and PostgreSQL:
silver rows checked against hand-computed expectations, then the flow sprint report."""

from __future__ import annotations

from datetime import datetime

import pytest
from jira_cases import utc
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tracker_support import Sync

from diogen.db import upsert
from diogen.ingest.models import RawRecord, SyncCursor
from diogen.metrics.flow import sprint_report
from diogen.metrics.flow.actors import bot_rule
from diogen.silver import (
    Identity,
    Incident,
    Issue,
    IssueStatusTransition,
    Person,
    Sprint,
    SprintScopeChange,
)
from diogen.silver.base import table_of
from diogen.silver.identities import Account, git_identity_rows
from diogen.silver.keys import person_id
from diogen.testing.fake_jira import FakeJira

S1, S2 = "DIO Sprint 1", "DIO Sprint 2"


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


def test_golden_jira_sync(engine: Engine, sync: Sync, jira: FakeJira, flavor: str) -> None:
    """One sync, every silver table it writes, and the flow report over them."""
    with Session(engine) as session:
        person, identity = git_identity_rows(
            Account("Alice L", "alice@example.com", "", ""), bot_rule()
        )
        upsert(session, table_of(Person), [person])
        upsert(session, table_of(Identity), [identity])
        session.commit()
    result = sync()
    assert result.rejected == 0
    assert result.summary["issues"] == 8
    check_scope_history(engine)
    check_sprints_issues_and_transitions(engine, jira)
    check_incident(engine)
    check_identities(engine, flavor, jira.url.split("//")[1])
    check_sprint_report(engine)


def check_scope_history(engine: Engine) -> None:
    with Session(engine) as session:
        assert scope_rows(session) == {
            ("DIO-1", S1, "added", 3.0, utc("2024-01-05T10:00")),
            # In S1 from creation; re-estimated mid-sprint: a second `added` with 8 points.
            ("DIO-2", S1, "added", 5.0, utc("2024-01-03T10:00")),
            ("DIO-2", S1, "added", 8.0, utc("2024-01-10T12:00")),
            ("DIO-3", S1, "added", 2.0, utc("2024-01-04T10:00")),
            ("DIO-3", S1, "removed", 2.0, utc("2024-01-11T10:00")),
            ("DIO-4", S1, "added", 1.0, utc("2024-01-10T09:30")),
            ("DIO-5", S1, "added", 5.0, utc("2024-01-06T10:00")),
            # Jira moves open issues on when a sprint completes; S1 keeps them too.
            ("DIO-5", S2, "added", 5.0, utc("2024-01-19T17:00")),
            ("DIO-6", S1, "added", 3.0, utc("2024-01-05T12:00")),
        }


def check_sprints_issues_and_transitions(engine: Engine, jira: FakeJira) -> None:
    with Session(engine) as session:
        sprints = {s.name: s for s in session.scalars(select(Sprint))}
        s1 = sprints[S1]
        assert (s1.board, s1.state, s1.goal, s1.external_id) == (
            "DIO scrum",
            "closed",
            "Ship sync",
            "101",
        )
        assert (s1.planned_start, s1.started_at) == (
            utc("2024-01-08T09:00"),
            utc("2024-01-08T09:00"),
        )
        assert (s1.planned_end, s1.completed_at) == (
            utc("2024-01-19T17:00"),
            utc("2024-01-19T17:00"),
        )
        assert (sprints[S2].state, sprints[S2].completed_at) == ("active", None)
        issues = {i.key: i for i in session.scalars(select(Issue))}
        assert len(issues) == 8
        two = issues["DIO-2"]
        assert (two.story_points, two.status, two.status_category) == (8.0, "Done", "done")
        assert (two.resolved_at, two.sprint_id, two.type) == (
            utc("2024-01-18T12:00"),
            s1.id,
            "Story",
        )
        assert two.url == f"{jira.url}/browse/DIO-2"
        assert issues["DIO-5"].sprint_id == sprints[S2].id  # the active one of its sprints
        assert issues["DIO-3"].sprint_id is None
        assert (issues["DIO-1"].epic_key, issues["DIO-1"].parent_id) == (
            "DIO-8",
            issues["DIO-8"].id,
        )
        assert issues["DIO-8"].status_category == "todo"
        history = session.execute(
            select(
                Issue.key,
                IssueStatusTransition.from_status,
                IssueStatusTransition.to_status,
                IssueStatusTransition.from_category,
                IssueStatusTransition.to_category,
                IssueStatusTransition.changed_at,
            )
            .join(Issue, Issue.id == IssueStatusTransition.issue_id)
            .where(Issue.key == "DIO-5")
            .order_by(IssueStatusTransition.changed_at)
        ).all()
        assert [tuple(row) for row in history] == [
            ("DIO-5", "To Do", "In Progress", "todo", "in_progress", utc("2024-01-15T10:00")),
            (
                "DIO-5",
                "In Progress",
                "In Review",
                "in_progress",
                "in_progress",
                utc("2024-01-23T10:00"),
            ),
            ("DIO-5", "In Review", "Done", "in_progress", "done", utc("2024-01-23T15:00")),
        ]
        # DIO-1 2, DIO-2 2, DIO-4 1, DIO-5 3, DIO-6 1, DIO-7 1.
        assert len(session.scalars(select(IssueStatusTransition)).all()) == 10


def check_incident(engine: Engine) -> None:
    with Session(engine) as session:
        (incident,) = session.scalars(select(Incident)).all()
        assert (incident.title, incident.severity, incident.status) == (
            "Work item DIO-7",
            "Highest",
            "Done",
        )
        assert (incident.started_at, incident.resolved_at) == (
            utc("2024-01-16T08:00"),
            utc("2024-01-16T11:00"),
        )
        assert incident.evidence == {"issue": "DIO-7", "rule": "type:Incident"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("flavor", ["cloud"], indirect=True)
def test_incidents_from_labels_and_priorities(engine: Engine, sync: Sync) -> None:
    sync(incidents={"types": [], "priorities": ["highest"]})
    with Session(engine) as session:
        (incident,) = session.scalars(select(Incident)).all()
        assert incident.evidence == {"issue": "DIO-7", "rule": "priority:Highest"}


def check_identities(engine: Engine, flavor: str, host: str) -> None:
    with Session(engine) as session:
        by_name = {i.name: i for i in session.scalars(select(Identity))}
    alice = by_name["Alice Liddell"]
    assert (alice.provider, alice.email) == ("jira", "alice@example.com")
    assert alice.key == ("acc-alice" if flavor == "cloud" else f"{host}:JIRAUSER-alice")
    # Merged by email with the git identity written before the sync.
    assert alice.person_id == by_name["Alice L"].person_id == person_id("email:alice@example.com")
    assert by_name["Bob Builder"].email is None
    assert by_name["Bob Builder"].person_id != alice.person_id
    assert by_name["Automation for Jira"].is_bot is (flavor == "cloud")  # Cloud: an app account


def check_sprint_report(engine: Engine) -> None:
    with Session(engine) as session:
        one = sprint_report(session, S1, now=utc("2024-02-01T00:00"))
        two = sprint_report(session, S2, now=utc("2024-02-01T00:00"))
    # Committed at 01-08 09:00: DIO-1 3, DIO-2 5, DIO-3 2, DIO-5 5, DIO-6 3 = 18.
    assert one["committed"] == {"issues": 5, "points": 18.0}
    assert one["added_after_start"] == {"issues": 1, "points": 1.0}  # DIO-4
    assert one["removed_after_start"] == {"issues": 1, "points": 2.0}  # DIO-3
    # At the end: DIO-1 3, DIO-2 8 (re-estimated), DIO-4 1, DIO-5 5, DIO-6 3 = 20; done then:
    # DIO-1, DIO-2, DIO-4 = 12; carried over: DIO-5 (done in S2) and DIO-6 (done 01-20) = 8.
    assert one["scope_at_end"] == {"issues": 5, "points": 20.0}
    assert one["completed"] == {"issues": 3, "points": 12.0}
    assert one["carry_over"] == {"issues": 2, "points": 8.0}
    assert one["completion_ratio"] == 0.6667  # 12 / 18
    assert (two["committed"], two["completed"]) == ({"issues": 1, "points": 5.0},) * 2
    assert two["carry_over"] is None  # still running


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_resync_reads_only_what_changed(engine: Engine, sync: Sync, jira: FakeJira) -> None:
    sync()
    with Session(engine) as session:
        before = scope_rows(session)
        cursor = session.scalars(
            select(SyncCursor.value).where(SyncCursor.stream == "issues:project:DIO")
        ).one()
    # The newest update is DIO-5's 01-23 15:00; JQL re-reads from a day earlier.
    assert cursor == {"updated": "2024-01-23T15:00:00.000+0000"}
    jira.log.clear()
    jira.add_issue("DIO-9", utc("2024-01-24T10:00"), points=2, sprints=(102,), assignee="bob")
    second = sync()
    assert second.summary["issues"] == 2  # DIO-5 (inside the overlap) and the new DIO-9
    searches = [path for _, path, _ in jira.log if "search" in path or "/issue?" in path]
    assert searches and all("2024%2F01%2F22+15%3A00" in path for path in searches)
    with Session(engine) as session:
        after = scope_rows(session)
        assert after - before == {("DIO-9", S2, "added", 2.0, utc("2024-01-24T10:00"))}
        raw = session.scalars(
            select(RawRecord.natural_key).where(RawRecord.stream == "issues")
        ).all()
        assert len(raw) == 9  # the unchanged DIO-5 record is the same bronze row

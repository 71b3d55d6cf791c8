"""The golden Jira story behind tests/trackers: two sprints of board 7 in project DIO.

Times are UTC. Sprint 101 "DIO Sprint 1" ran from Monday 2024-01-08 09:00 to its completion
on Friday 2024-01-19 17:00; sprint 102 "DIO Sprint 2" started Monday 2024-01-22 09:00 and
runs until 2024-02-02 17:00. Story points live in "Story Points" (the board's estimation).

- DIO-1 (3): created 01-02, added to S1 on 01-05, in progress 01-09, done 01-12; its epic
  is DIO-8.
- DIO-2 (5): created in S1 on 01-03; re-estimated to 8 on 01-10 12:00; done 01-18.
- DIO-3 (2): created in S1 on 01-04; removed from S1 on 01-11.
- DIO-4 (1): created in S1 on 01-10 09:30, after the start.
- DIO-5 (5): added to S1 on 01-06; in progress 01-15; not done when S1 completed, so Jira
  moved it on (Sprint "101" → "101, 102" at 01-19 17:00); done 01-23 in S2.
- DIO-6 (3): created in S1 on 01-05; done 01-20 10:00, after S1 completed, in no later sprint.
- DIO-7: an Incident (Highest), 01-16 08:00 → done 11:00; assigned to an app (a bot).
- DIO-8: the Epic.
"""

from __future__ import annotations

from datetime import UTC, datetime

from diogen.testing.fake_jira import FakeJira

EMAIL = "sync-bot@example.com"
TOKEN = "jira-api-token"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def golden_story(jira: FakeJira) -> None:
    jira.add_user("alice", "Alice Liddell", "Alice@Example.com")
    jira.add_user("bob", "Bob Builder", None)
    jira.add_user("robot", "Automation for Jira", None, app=True)
    jira.add_project("DIO", "Diogen")
    jira.add_board(7, "DIO scrum", "DIO")
    jira.add_board(8, "DIO kanban", "DIO", kind="kanban")
    jira.add_sprint(
        7,
        101,
        "DIO Sprint 1",
        "closed",
        start=utc("2024-01-08T09:00"),
        end=utc("2024-01-19T17:00"),
        complete=utc("2024-01-19T17:00"),
        goal="Ship sync",
    )
    jira.add_sprint(
        7,
        102,
        "DIO Sprint 2",
        "active",
        start=utc("2024-01-22T09:00"),
        end=utc("2024-02-02T17:00"),
    )
    epic = jira.add_issue("DIO-8", utc("2024-01-01T09:00"), kind="Epic", assignee="alice")
    (
        jira.add_issue("DIO-1", utc("2024-01-02T10:00"), points=3, assignee="alice", parent=epic)
        .sprint(utc("2024-01-05T10:00"), 101)
        .move(utc("2024-01-09T10:00"), "In Progress", author="alice")
        .move(utc("2024-01-12T10:00"), "Done", author="alice")
    )
    (
        jira.add_issue("DIO-2", utc("2024-01-03T10:00"), points=5, sprints=(101,), assignee="bob")
        .move(utc("2024-01-09T11:00"), "In Progress", author="bob")
        .estimate(utc("2024-01-10T12:00"), 8)
        .move(utc("2024-01-18T12:00"), "Done", author="bob")
    )
    jira.add_issue("DIO-3", utc("2024-01-04T10:00"), points=2, sprints=(101,)).sprint(
        utc("2024-01-11T10:00")
    )
    jira.add_issue("DIO-4", utc("2024-01-10T09:30"), points=1, sprints=(101,), assignee="bob").move(
        utc("2024-01-15T10:00"), "Done", author="bob"
    )
    (
        jira.add_issue("DIO-5", utc("2024-01-05T11:00"), points=5, assignee="alice")
        .sprint(utc("2024-01-06T10:00"), 101)
        .move(utc("2024-01-15T10:00"), "In Progress", author="alice")
        .sprint(utc("2024-01-19T17:00"), 101, 102)
        .move(utc("2024-01-23T10:00"), "In Review", author="alice")
        .move(utc("2024-01-23T15:00"), "Done", author="alice")
    )
    jira.add_issue("DIO-6", utc("2024-01-05T12:00"), points=3, sprints=(101,), assignee="bob").move(
        utc("2024-01-20T10:00"), "Done", author="bob"
    )
    jira.add_issue(
        "DIO-7", utc("2024-01-16T08:00"), kind="Incident", priority="Highest", assignee="robot"
    ).move(utc("2024-01-16T11:00"), "Done", author="bob")

"""The golden Asana story: project 1201 with sections Backlog, Doing, Review, Done; points in
the "Story Points" number field. Times are UTC.

- T1 (3 points, Alice): created 04-01 09:00 in Backlog; Doing 04-02 10:00; Review 04-03
  10:00 (moved by Bob); Done 04-04 10:00; completed 04-04 10:05.
- T2 (5 points, Bob): created 04-01 10:00 in Backlog; Doing 04-03 09:00; completed 04-05
  09:00 while in Doing, reopened 04-06 09:00, completed again 04-07 09:00.
- T3 (no points, nobody): created 04-02 12:00 in Backlog; one comment 04-03 12:00.
"""

from __future__ import annotations

from datetime import UTC, datetime

from diogen.testing.fake_asana import FakeAsana

TOKEN = "asana-pat-golden"
PROJECT = "1201"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def golden_story(fake: FakeAsana) -> None:
    fake.add_user("alice", "Alice Liddell", "Alice@Example.com")
    fake.add_user("bob", "Bob Builder", None)
    fake.add_project(PROJECT, "Diogen", ["Backlog", "Doing", "Review", "Done"])
    one = fake.add_task(
        PROJECT, utc("2024-04-01T09:00"), name="T1", section="Backlog", points=3, assignee="alice"
    )
    one.move(utc("2024-04-02T10:00"), "Doing").move(utc("2024-04-03T10:00"), "Review", author="bob")
    one.move(utc("2024-04-04T10:00"), "Done").complete(utc("2024-04-04T10:05"))
    two = fake.add_task(
        PROJECT, utc("2024-04-01T10:00"), name="T2", section="Backlog", points=5, assignee="bob"
    )
    two.move(utc("2024-04-03T09:00"), "Doing").complete(utc("2024-04-05T09:00"))
    two.reopen(utc("2024-04-06T09:00")).complete(utc("2024-04-07T09:00"))
    three = fake.add_task(PROJECT, utc("2024-04-02T12:00"), name="T3", section="Backlog")
    three.comment(utc("2024-04-03T12:00"), "Later.")

"""The golden Linear story: two cycles of team ENG.

Times are UTC. Cycle 1 runs Monday 2024-03-04 00:00 → 2024-03-18 00:00 and completed then
(Linear then moved its unfinished issues to cycle 2); cycle 2 runs 03-18 00:00 → 04-01 00:00
and is active. Estimates are story points.

- ENG-1 (3): created in C1 on 03-01 10:00 (before the start); started 03-05; done 03-08 12:00.
- ENG-2 (5): created in C1 on 03-01 11:00; re-estimated to 8 on 03-06 10:00; started 03-07;
  not done at the end: moved to C2 at 03-18 00:00; done 03-20 12:00 (after C1 ended).
- ENG-3 (2): created 03-05 10:00 in no cycle; added to C1 on 03-06 09:00 (mid-cycle);
  started 03-06 10:00; done 03-12 16:00.
- ENG-4 (1): created in C1 on 03-01 12:00; removed from C1 on 03-07 15:00.
- ENG-5 (3): created 03-02 10:00 in no cycle; added to C1 on 03-05 09:00, removed 03-07 09:00,
  added back 03-08 09:00, re-estimated to 5 on 03-11 09:00; started 03-12 09:00; moved to C2
  at 03-18 00:00; done 03-19 15:00.
- ENG-6 (2): created in C2 on 03-14 10:00 (before C2 started); started 03-19 09:00; the child
  of ENG-1; assigned to Bob.
"""

from __future__ import annotations

from datetime import UTC, datetime

from diogen.testing.fake_linear import FakeLinear

API_KEY = "lin_api_golden0123456789"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def golden_story(fake: FakeLinear) -> None:
    fake.add_user("alice", "Alice Liddell", "Alice@Example.com")
    fake.add_user("bob", "Bob Builder", "bob@builder.example")
    fake.add_team("ENG", "Engineering")
    fake.add_cycle(
        "ENG",
        1,
        utc("2024-03-04T00:00"),
        utc("2024-03-18T00:00"),
        completed=utc("2024-03-18T00:00"),
    )
    fake.add_cycle("ENG", 2, utc("2024-03-18T00:00"), utc("2024-04-01T00:00"), active=True)
    sync = fake.add_project("ENG", "Sync")
    one = fake.add_issue(
        "ENG", utc("2024-03-01T10:00"), cycle=1, estimate=3, assignee="alice", project=sync
    )
    one.move(utc("2024-03-05T10:00"), "In Progress").move(utc("2024-03-08T12:00"), "Done")
    two = fake.add_issue("ENG", utc("2024-03-01T11:00"), cycle=1, estimate=5, assignee="alice")
    two.estimate(utc("2024-03-06T10:00"), 8).move(utc("2024-03-07T10:00"), "In Progress")
    two.to_cycle(utc("2024-03-18T00:00"), 2).move(utc("2024-03-20T12:00"), "Done")
    three = fake.add_issue("ENG", utc("2024-03-05T10:00"), estimate=2, assignee="alice")
    three.to_cycle(utc("2024-03-06T09:00"), 1).move(utc("2024-03-06T10:00"), "In Progress")
    three.move(utc("2024-03-12T16:00"), "Done")
    four = fake.add_issue("ENG", utc("2024-03-01T12:00"), cycle=1, estimate=1)
    four.to_cycle(utc("2024-03-07T15:00"), None)
    five = fake.add_issue("ENG", utc("2024-03-02T10:00"), estimate=3, assignee="alice")
    five.to_cycle(utc("2024-03-05T09:00"), 1).to_cycle(utc("2024-03-07T09:00"), None)
    five.to_cycle(utc("2024-03-08T09:00"), 1).estimate(utc("2024-03-11T09:00"), 5)
    five.move(utc("2024-03-12T09:00"), "In Progress").to_cycle(utc("2024-03-18T00:00"), 2)
    five.move(utc("2024-03-19T15:00"), "Done")
    six = fake.add_issue(
        "ENG", utc("2024-03-14T10:00"), cycle=2, estimate=2, assignee="bob", parent=one
    )
    six.move(utc("2024-03-19T09:00"), "In Progress", author="bob")

"""An Asana sync of the golden story (asana_cases) on SQLite and PostgreSQL: silver rows
checked against hand-computed expectations, then the flow issue figures; and the Asana
fake's faults (on SQLite only)."""

from __future__ import annotations

import pytest
from asana_cases import utc
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_jira_resilience import FAST
from tracker_support import Sleeper, Sync

from diogen.connectors.http import HttpError
from diogen.db import upsert
from diogen.errors import NotFoundError
from diogen.metrics.flow import issue_flow
from diogen.metrics.flow.actors import bot_rule
from diogen.metrics.window import Window
from diogen.silver import Identity, Issue, IssueStatusTransition, Person
from diogen.silver.base import table_of
from diogen.silver.identities import Account, git_identity_rows
from diogen.testing.fake_asana import FakeAsana

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
APRIL = Window(utc("2024-04-01T00:00"), utc("2024-05-01T00:00"))


def transitions(session: Session, name: str) -> list[tuple[object, ...]]:
    rows = session.execute(
        select(
            IssueStatusTransition.from_status,
            IssueStatusTransition.to_status,
            IssueStatusTransition.from_category,
            IssueStatusTransition.to_category,
            IssueStatusTransition.changed_at,
        )
        .join(Issue, Issue.id == IssueStatusTransition.issue_id)
        .where(Issue.title == name)
        .order_by(IssueStatusTransition.changed_at)
    )
    return [tuple(row) for row in rows]


def test_golden_asana_sync(engine: Engine, asana_sync: Sync) -> None:
    with Session(engine) as session:
        person, identity = git_identity_rows(
            Account("Alice L", "alice@example.com", "", ""), bot_rule()
        )
        upsert(session, table_of(Person), [person])
        upsert(session, table_of(Identity), [identity])
        session.commit()
    result = asana_sync()
    assert result.rejected == 0
    assert (result.summary["tasks"], result.summary["sections"], result.summary["stories"]) == (
        3,
        4,
        9,
    )
    with Session(engine) as session:
        issues = {i.title: i for i in session.scalars(select(Issue))}
        one, two, three = issues["T1"], issues["T2"], issues["T3"]
        assert (one.status, one.status_category, one.story_points, one.resolved_at) == (
            "Done",
            "done",
            3.0,
            utc("2024-04-04T10:05"),
        )
        # Completed while in Doing: the section stays, the category is done.
        assert (two.status, two.status_category, two.resolved_at) == (
            "Doing",
            "done",
            utc("2024-04-07T09:00"),
        )
        assert (three.status_category, three.story_points, three.assignee_identity_id) == (
            "todo",
            None,
            None,
        )
        assert one.project == "1201" and one.url == f"https://app.asana.com/0/1201/{one.key}"
        assert transitions(session, "T1") == [
            ("Backlog", "Doing", "todo", "in_progress", utc("2024-04-02T10:00")),
            ("Doing", "Review", "in_progress", "in_progress", utc("2024-04-03T10:00")),
            ("Review", "Done", "in_progress", "done", utc("2024-04-04T10:00")),
            ("Done", "Done", "done", "done", utc("2024-04-04T10:05")),
        ]
        assert transitions(session, "T2") == [
            ("Backlog", "Doing", "todo", "in_progress", utc("2024-04-03T09:00")),
            ("Doing", "Doing", "in_progress", "done", utc("2024-04-05T09:00")),
            ("Doing", "Doing", "done", "in_progress", utc("2024-04-06T09:00")),
            ("Doing", "Doing", "in_progress", "done", utc("2024-04-07T09:00")),
        ]
        identities = {i.name: i for i in session.scalars(select(Identity))}
        alice = identities["Alice Liddell"]
        assert (alice.provider, alice.email) == ("asana", "alice@example.com")
        assert alice.person_id == identities["Alice L"].person_id  # merged by email
        assert one.assignee_identity_id == alice.id
        (review,) = [
            t for t in session.scalars(select(IssueStatusTransition)) if t.to_status == "Review"
        ]
        assert review.author_identity_id == identities["Bob Builder"].id
        report = issue_flow(session, None, APRIL, explain=True, now=utc("2024-05-01T00:00"))
    rows = {row["key"]: row for row in report["evidence"]["issues"]["issues"]}
    # T1: created 04-01 09:00, started 04-02 10:00, done 04-04 10:05 → lead 73.08 h, cycle
    # 48.08 h. T2: created 04-01 10:00, started 04-03 09:00, done 04-07 09:00 → 143 h, 96 h.
    assert {(r["lead_time_hours"], r["cycle_time_hours"]) for r in rows.values()} == {
        (73.08, 48.08),
        (143.0, 96.0),
    }


@SQLITE
def test_faults_paging_and_incremental_resync(
    engine: Engine, asana_sync: Sync, asana: FakeAsana
) -> None:
    asana.fail(r"^/tasks$", 429, retry_after=7)
    asana.fail(r"/stories$", 503, times=2)
    sleeper = Sleeper()
    result = asana_sync(sleep=sleeper, retry=FAST)
    assert any(7 <= wait < 8 for wait in sleeper.waits)
    assert (result.summary["rate_limit_waits"], result.summary["retries"]) == (1, 2)
    # Pages of 2: sections 2 pages; tasks 2; T1's and T2's 4 stories 2 each, T3's 1.
    assert len(asana.requests(r"/sections")) == 2
    assert len(asana.requests(r"/stories")) == 2 + 2 + 1 + 2  # and the two 503s
    assert sum("offset=" in r for r in asana.requests(r"^/api/1.0/tasks\?")) == 1
    three = next(t for t in asana.tasks if t.fields["name"] == "T3")
    three.move(utc("2024-04-08T09:00"), "Doing")
    again = asana_sync()
    assert again.summary["tasks"] == 2  # T2 (modified last, inclusive) and T3
    assert any("modified_since=2024-04-07T09" in r for r in asana.requests(r"/tasks\?"))
    with Session(engine) as session:
        assert transitions(session, "T3") == [
            ("Backlog", "Doing", "todo", "in_progress", utc("2024-04-08T09:00"))
        ]


@SQLITE
def test_bad_token_and_unknown_project_say_so(engine: Engine, asana_sync: Sync) -> None:
    with pytest.raises(HttpError, match="answered 401: Not Authorized"):
        asana_sync(token="wrong")
    with pytest.raises(NotFoundError, match="no Asana project 999"):
        asana_sync(projects=["999"])

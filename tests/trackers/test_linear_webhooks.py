"""Linear issue deliveries after a sync of the golden story: the published Zulip fixture's
shape, pointed at the synced workspace, normalised as the sync would (on SQLite and
PostgreSQL)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from linear_cases import utc
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_linear_sync import scope_rows
from tracker_support import Sync

from diogen.ingest.tracker_webhooks import receive_linear
from diogen.silver import Issue, IssueStatusTransition
from diogen.testing.fake_linear import FakeLinear, linear_time

SECRET = "linear-secret"
FIXTURE = "zulip-webhook-fixtures/linear/issue_update.json"


def delivery(
    shared_data: Path, linear: FakeLinear, key: str, at: datetime, before: dict[str, Any]
) -> dict[str, Any]:
    """The fixture's update, about issue `key` of the fake as it is now."""
    payload: dict[str, Any] = json.loads((shared_data / FIXTURE).read_text())
    issue = next(i for i in linear.issues if i.identifier == key).fields
    data = copy.deepcopy(payload["data"])
    cycle = issue["cycle"]["id"] if issue["cycle"] else None
    data.update(
        id=issue["id"],
        number=issue["number"],
        title=issue["title"],
        createdAt=linear_time(issue["createdAt"]),
        updatedAt=linear_time(at),
        state=issue["state"],
        stateId=issue["state"]["id"],
        estimate=issue["estimate"],
        cycleId=cycle,
        team={"id": "team-eng", "key": "ENG", "name": "Engineering"},
    )
    data.pop("cycle")
    payload.update(
        data=data,
        updatedFrom={"updatedAt": data["updatedAt"], **before},
        organizationId=linear.organization["id"],
        webhookTimestamp=int(at.timestamp() * 1000),
        url=f"https://linear.app/webhooks/issue/{key}",
    )
    return payload


def send(engine: Engine, payload: dict[str, Any], at: datetime) -> str:
    body = json.dumps(payload).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Linear-Signature": signature, "Linear-Delivery": f"d-{at.isoformat()}"}
    clock = lambda: at + timedelta(seconds=2)  # noqa: E731
    return receive_linear(engine, headers, body, SECRET, clock=clock).status


def test_deliveries_after_a_sync_add_transitions_and_scope_changes(
    engine: Engine, linear_sync: Sync, linear: FakeLinear, shared_data: Path
) -> None:
    linear_sync()
    with Session(engine) as session:
        before = scope_rows(session)
    # ENG-4 (Todo, no cycle): started, then pulled into C2 and estimated 3 in one edit.
    todo = linear.state("Todo")["id"]
    four = next(i for i in linear.issues if i.identifier == "ENG-4")
    at = utc("2024-03-21T09:00")
    four.move(at, "In Progress")
    assert send(engine, delivery(shared_data, linear, "ENG-4", at, {"stateId": todo}), at) == (
        "processed"
    )
    later = utc("2024-03-22T10:00")
    four.to_cycle(later, 2).estimate(later, 3)
    moved = delivery(shared_data, linear, "ENG-4", later, {"cycleId": None, "estimate": 1})
    assert send(engine, moved, later) == "processed"
    with Session(engine) as session:
        issue = session.scalars(select(Issue).where(Issue.key == "ENG-4")).one()
        assert (issue.status, issue.story_points, issue.epic_key) == ("In Progress", 3.0, None)
        (move,) = session.execute(
            select(
                IssueStatusTransition.from_status,
                IssueStatusTransition.to_status,
                IssueStatusTransition.from_category,
                IssueStatusTransition.changed_at,
            ).where(IssueStatusTransition.issue_id == issue.id)
        ).all()
        # The previous state's name comes from the workflow states the sync stored.
        assert tuple(move) == ("Todo", "In Progress", "todo", at)
        assert scope_rows(session) - before == {("ENG-4", "ENG Cycle 2", "added", 3.0, later)}


def test_a_carried_over_issue_stays_in_its_ended_cycle(
    engine: Engine, linear_sync: Sync, linear: FakeLinear, shared_data: Path
) -> None:
    """A move out of a cycle at its end is carry-over, as in a sync: no `removed` row."""
    linear_sync()
    with Session(engine) as session:
        before = scope_rows(session)
    # ENG-6 moves from C2 back to C1... after C1 ended: added to C1 (late), C2 loses it.
    six = next(i for i in linear.issues if i.identifier == "ENG-6")
    c2 = six.fields["cycle"]["id"]
    at = utc("2024-03-23T10:00")
    six.to_cycle(at, 1)
    assert send(engine, delivery(shared_data, linear, "ENG-6", at, {"cycleId": c2}), at) == (
        "processed"
    )
    with Session(engine) as session:
        assert scope_rows(session) - before == {
            ("ENG-6", "ENG Cycle 2", "removed", 2.0, at),
            ("ENG-6", "ENG Cycle 1", "added", 2.0, at),
        }
    # C1 ended on 03-18: the report's end scope is unchanged by the late addition.
    now = datetime(2024, 3, 25, tzinfo=UTC)
    from diogen.metrics.flow import sprint_report

    with Session(engine) as session:
        assert sprint_report(session, "ENG Cycle 1", now=now)["scope_at_end"] == {
            "issues": 4,
            "points": 18.0,
        }

"""`issues` webhooks make, update and resolve incidents by the same rules as a sync: the real
example deliveries, signed, through `receive_github`, then compared with a sync of the same
issue from the fake GitHub. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from test_webhooks import EXAMPLES, SECRET, signed

from diogen.connectors.github.config import IssueRules
from diogen.db import session_scope
from diogen.ingest.runner import SyncResult
from diogen.ingest.webhooks import WebhookResult, receive_github
from diogen.silver import Incident, Issue
from diogen.testing.fake_github import FakeGitHub

RULES = IssueRules(labels=["BUG"])  # the examples' issue is labelled "bug"
ISSUE_ID = "444500041"


def example(shared_data: Path, name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((shared_data / EXAMPLES / "issues" / name).read_text())
    return payload


def deliver(engine: Engine, payload: dict[str, Any], delivery: str) -> WebhookResult:
    body = json.dumps(payload).encode()
    headers = signed(body, "issues", delivery)
    return receive_github(engine, headers, body, SECRET, incidents=RULES)


def rows(engine: Engine, model: type) -> list[dict[str, Any]]:
    with Session(engine) as session:
        found = session.scalars(select(model).order_by(model.id)).all()  # type: ignore[attr-defined]
        return [
            {c.key: getattr(r, c.key) for c in model.__table__.columns}  # type: ignore[attr-defined]
            for r in found
        ]


def incident(engine: Engine) -> Incident | None:
    with Session(engine) as session:
        return session.scalars(select(Incident)).one_or_none()


def test_issue_deliveries_open_update_resolve_and_drop_the_incident(
    engine: Engine, shared_data: Path
) -> None:
    opened = example(shared_data, "opened.payload.json")
    assert deliver(engine, opened, "d-opened").status == "processed"
    first = incident(engine)
    assert first is not None and first.external_id == ISSUE_ID
    assert (first.status, first.resolved_at, first.title) == (
        "open",
        None,
        "Spelling error in the README file",
    )
    assert first.evidence == {"issue": "Codertocat/Hello-World#1", "rule": "label:bug"}

    # pinned carries neither labels nor state: the incident stays as it is.
    deliver(engine, example(shared_data, "pinned.payload.json"), "d-pinned")
    assert rows(engine, Incident)[0]["status"] == "open"

    # The same issue closed (GitHub's `closed` delivery: state and closed_at set).
    closed = copy.deepcopy(opened)
    closed["action"] = "closed"
    closed["issue"].update(state="closed", closed_at="2019-05-15T16:00:00Z")
    deliver(engine, closed, "d-closed")
    resolved = incident(engine)
    assert resolved is not None and resolved.status == "resolved"
    assert resolved.resolved_at is not None and resolved.resolved_at.isoformat() == (
        "2019-05-15T16:00:00+00:00"
    )

    # Its label removed (unlabeled, with the issue as it is after): no longer an incident.
    unlabeled = example(shared_data, "unlabeled.payload.json")
    unlabeled["issue"]["labels"] = []
    deliver(engine, unlabeled, "d-unlabeled")
    assert incident(engine) is None
    with Session(engine) as session:
        assert session.scalars(select(Issue.key)).one() == "Codertocat/Hello-World#1"

    # labeled again: an incident again.
    deliver(engine, example(shared_data, "labeled.payload.json"), "d-labeled")
    assert incident(engine) is not None


def test_a_delivery_writes_the_rows_a_sync_of_the_same_issue_writes(
    engine: Engine,
    shared_data: Path,
    fake: FakeGitHub,
    sync: Callable[..., SyncResult],
) -> None:
    opened = example(shared_data, "opened.payload.json")
    # As the fake's instance sends it (an Enterprise host: the rows' source is the host).
    host = urlsplit(fake.url).netloc
    opened["repository"]["html_url"] = f"http://{host}/Codertocat/Hello-World"
    deliver(engine, opened, "d-opened")
    delivered = rows(engine, Incident), rows(engine, Issue)
    assert len(delivered[0]) == 1 and len(delivered[1]) == 1
    with session_scope(engine) as session:
        session.execute(delete(Incident))
        session.execute(delete(Issue))

    repo = fake.add(fake.examples.repository("Codertocat/Hello-World"))
    repo.issues.append(copy.deepcopy(opened["issue"]))
    result = sync(repos=["Codertocat/Hello-World"], incidents=RULES, clone=False)
    assert result.summary["incidents"] == 1
    assert (rows(engine, Incident), rows(engine, Issue)) == delivered


def test_without_rules_a_delivery_makes_no_incident(engine: Engine, shared_data: Path) -> None:
    body = (shared_data / EXAMPLES / "issues" / "opened.payload.json").read_bytes()
    receive_github(engine, signed(body, "issues", "d1"), body, SECRET)
    assert incident(engine) is None

"""POST /api/v1/webhooks/{jira,linear,asana} through the HTTP application, replaying the
published Jira and Linear deliveries (zulip-webhook-fixtures) signed, on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import NOW, World, make_world
from sqlalchemy import func, select

from diogen.ingest.models import QuarantinedRecord, RawRecord, WebhookSecret
from diogen.silver import Issue, IssueStatusTransition, Sprint

V = "/api/v1"
JIRA, LINEAR, ASANA = "jira-secret", "linear-secret", "asana-fallback"
FIXTURES = "zulip-webhook-fixtures"


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    made = make_world(
        database_url,
        jira_webhook_secret=JIRA,
        linear_webhook_secret=LINEAR,
        asana_webhook_secret=ASANA,
    )
    yield made
    made.close()


def digest(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def counts(world: World) -> tuple[int, int]:
    with world.session() as session:
        raw = session.scalar(select(func.count()).select_from(RawRecord)) or 0
        kept = session.scalar(select(func.count()).select_from(QuarantinedRecord)) or 0
        return raw, kept


def test_jira_deliveries(world: World, shared_data: Path) -> None:
    body = (shared_data / FIXTURES / "jira/issue_updated__status.json").read_bytes()
    url = f"{V}/webhooks/jira"
    signed = {"X-Hub-Signature": "sha256=" + digest(JIRA, body)}
    forged = world.client.post(url, content=body, headers={"X-Hub-Signature": "sha256=00"})
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert counts(world) == (0, 0)
    first = world.client.post(url, content=body, headers=signed)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "processed" and first.json()["rows"] > 0
    again = world.client.post(url, content=body, headers=signed)
    assert again.json()["status"] == "duplicate"
    # A site that cannot sign puts the secret in the URL.
    by_token = world.client.post(f"{url}?secret={JIRA}", content=body)
    assert by_token.json()["status"] == "duplicate"
    with world.session() as session:
        issue = session.scalars(select(Issue)).one()
        assert (issue.key, issue.status, issue.status_category) == (
            "TEST-1",
            "In Progress",
            "in_progress",
        )
        (move,) = session.scalars(select(IssueStatusTransition)).all()
        assert (move.from_status, move.to_status) == ("To Do", "In Progress")
    garbage = b'{"webhookEvent": '
    bad = world.client.post(
        url, content=garbage, headers={"X-Hub-Signature": "sha256=" + digest(JIRA, garbage)}
    )
    assert bad.status_code == 400
    assert counts(world) == (1, 1)


def linear_delivery(shared_data: Path, name: str, **changes: Any) -> bytes:
    """A published delivery, sent now (the replay window is a minute)."""
    payload = json.loads((shared_data / FIXTURES / "linear" / name).read_text())
    payload.update({"webhookTimestamp": int(NOW.timestamp() * 1000), **changes})
    return json.dumps(payload).encode()


def test_linear_deliveries(world: World, shared_data: Path) -> None:
    url = f"{V}/webhooks/linear"
    answers = {}
    for number, name in enumerate(
        (
            "issue_create_simple.json",
            "issue_update.json",
            "issue_remove.json",
            "comment_create.json",
        )
    ):
        body = linear_delivery(shared_data, name)
        headers = {"Linear-Signature": digest(LINEAR, body), "Linear-Delivery": f"ld-{number}"}
        answer = world.client.post(url, content=body, headers=headers)
        answers[name] = (answer.status_code, answer.json()["status"], answer.json()["event"])
    assert answers == {
        "issue_create_simple.json": (200, "processed", "Issue.create"),
        "issue_update.json": (200, "processed", "Issue.update"),
        "issue_remove.json": (202, "accepted", "Issue.remove"),
        "comment_create.json": (202, "accepted", "Comment.create"),
    }
    with world.session() as session:
        issues = {i.key: i for i in session.scalars(select(Issue))}
        assert set(issues) == {"WEB-43", "WEB-44"}
        assert (issues["WEB-44"].status_category, issues["WEB-44"].title[:28]) == (
            "in_progress",
            "This is regarding the outage",
        )
        (cycle,) = session.scalars(select(Sprint)).all()  # the cycle WEB-44 names
        assert issues["WEB-44"].sprint_id == cycle.id and cycle.name == "WEB Cycle 1"
    old = linear_delivery(shared_data, "issue_update.json", webhookTimestamp=1681208213456)
    replayed = world.client.post(
        url, content=old, headers={"Linear-Signature": digest(LINEAR, old)}
    )
    assert replayed.status_code == 401 and "replay" in replayed.json()["detail"]
    forged = world.client.post(url, content=old, headers={"Linear-Signature": "ab" * 32})
    assert forged.status_code == 401
    assert counts(world) == (4, 0)


def test_asana_handshake_then_deliveries(world: World, shared_data: Path) -> None:
    url = f"{V}/webhooks/asana?hook=tasks"
    hello = world.client.post(url, headers={"X-Hook-Secret": "from-asana"})
    assert hello.status_code == 200 and hello.headers["x-hook-secret"] == "from-asana"
    swap = world.client.post(url, headers={"X-Hook-Secret": "someone-else"})
    assert swap.status_code == 401  # the first secret stays
    with world.session() as session:
        assert session.scalars(select(WebhookSecret.secret)).all() == ["from-asana"]
    event = json.loads(
        (shared_data / "asana-openapi/schema-examples/EventResponse.json").read_text()
    )
    body = json.dumps({"events": [event]}).encode()
    delivered = world.client.post(
        url, content=body, headers={"X-Hook-Signature": digest("from-asana", body)}
    )
    assert delivered.status_code == 202, delivered.text
    wrong = world.client.post(url, content=body, headers={"X-Hook-Signature": digest(ASANA, body)})
    assert wrong.status_code == 401  # this hook's secret is the handshake's
    # A hook without a handshake falls back to DIOGEN_ASANA_WEBHOOK_SECRET.
    other = world.client.post(
        f"{V}/webhooks/asana?hook=other",
        content=body,
        headers={"X-Hook-Signature": digest(ASANA, body)},
    )
    assert other.status_code == 200 and other.json()["status"] == "duplicate"
    assert counts(world) == (1, 0)


def test_tracker_webhooks_are_off_without_secrets(database_url: str, shared_data: Path) -> None:
    world = make_world(database_url)
    try:
        for provider, setting in (("jira", "JIRA"), ("linear", "LINEAR"), ("asana", "ASANA")):
            answer = world.client.post(f"{V}/webhooks/{provider}", content=b"{}")
            assert answer.status_code == 401
            assert f"DIOGEN_{setting}_WEBHOOK_SECRET" in answer.json()["detail"]
    finally:
        world.close()

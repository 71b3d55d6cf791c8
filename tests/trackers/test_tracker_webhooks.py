"""Tracker webhooks: Jira and Linear deliveries normalised like a sync (the published Zulip
fixtures and the fakes' own), Asana verified and kept; bad signatures store nothing, malformed
bodies go to quarantine."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jira_cases import utc
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_jira_sync import scope_rows
from tracker_support import Sync

from diogen.ingest.models import QuarantinedRecord, RawRecord
from diogen.ingest.tracker_webhooks import receive_asana, receive_jira, receive_linear
from diogen.ingest.webhooks import WebhookPayloadError, WebhookSignatureError
from diogen.silver import Issue, IssueStatusTransition
from diogen.testing.fake_jira import FakeJira

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SECRET = "s3cret"


def signed(body: bytes, prefix: str = "") -> str:
    return prefix + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        raw = session.scalar(select(func.count()).select_from(RawRecord))
        kept = session.scalar(select(func.count()).select_from(QuarantinedRecord))
        return int(raw or 0), int(kept or 0)


def fixture(shared_data: Path, name: str) -> bytes:
    return (shared_data / "zulip-webhook-fixtures" / name).read_bytes()


def test_a_jira_status_change_becomes_an_issue_and_a_transition(
    engine: Engine, shared_data: Path
) -> None:
    body = fixture(shared_data, "jira/issue_updated__status.json")
    headers = {"X-Hub-Signature": signed(body, "sha256="), "X-Atlassian-Webhook-Identifier": "d1"}
    result = receive_jira(engine, headers, body, SECRET)
    assert (result.status, result.event, result.http_status) == (
        "processed",
        "jira:issue_updated",
        200,
    )
    with Session(engine) as session:
        issue = session.scalars(select(Issue)).one()
        assert (issue.key, issue.source, issue.status, issue.status_category) == (
            "TEST-1",
            "jira@zulipp.atlassian.net",
            "In Progress",
            "in_progress",
        )
        assert issue.created_at == datetime(2017, 1, 30, 17, 30, 41, 962000, tzinfo=UTC)
        move = session.scalars(select(IssueStatusTransition)).one()
        # No sync has told the category of "To Do" (id 10000) yet.
        assert (move.from_status, move.to_status, move.from_category, move.to_category) == (
            "To Do",
            "In Progress",
            None,
            "in_progress",
        )
        assert move.changed_at == datetime.fromtimestamp(1485797534.721, UTC)
    assert receive_jira(engine, headers, body, SECRET).status == "duplicate"
    assert counts(engine) == (1, 0)


def test_jira_secrets_signatures_and_malformed_bodies(engine: Engine, shared_data: Path) -> None:
    body = fixture(shared_data, "jira/issue_updated__status.json")
    with pytest.raises(WebhookSignatureError) as bad:
        receive_jira(engine, {"X-Hub-Signature": "sha256=" + "0" * 64}, body, SECRET)
    assert bad.value.http_status == 401
    with pytest.raises(WebhookSignatureError):
        receive_jira(engine, {}, body, SECRET, token="guess")
    assert counts(engine) == (0, 0)  # nothing stored
    assert receive_jira(engine, {}, body, SECRET, token=SECRET).status == "processed"
    with pytest.raises(WebhookPayloadError) as malformed:
        receive_jira(engine, {}, b"{not json", SECRET, token=SECRET)
    assert malformed.value.http_status == 400
    broken = json.loads(body)
    del broken["issue"]["fields"]["created"]
    with pytest.raises(WebhookPayloadError, match="has no creation time"):
        receive_jira(engine, {}, json.dumps(broken).encode(), SECRET, token=SECRET)
    assert counts(engine) == (1, 2)  # rejects are kept in quarantine only


@pytest.mark.parametrize("flavor", ["cloud"], indirect=True)
def test_a_jira_sprint_change_after_a_sync(engine: Engine, sync: Sync, jira: FakeJira) -> None:
    sync()
    three = next(issue for issue in jira.issues if issue.key == "DIO-3")
    three.sprint(utc("2024-01-24T10:00"), 102)
    body = json.dumps(jira.webhook(three)).encode()
    result = receive_jira(engine, {"X-Hub-Signature": signed(body, "sha256=")}, body, SECRET)
    assert result.status == "processed"
    with Session(engine) as session:
        added = {row for row in scope_rows(session) if row[0] == "DIO-3"}
        issue = session.scalars(select(Issue).where(Issue.key == "DIO-3")).one()
        assert issue.sprint_id is not None
    assert added == {
        ("DIO-3", "DIO Sprint 1", "added", 2.0, utc("2024-01-04T10:00")),
        ("DIO-3", "DIO Sprint 1", "removed", 2.0, utc("2024-01-11T10:00")),
        ("DIO-3", "DIO Sprint 2", "added", 2.0, utc("2024-01-24T10:00")),
    }


def linear_clock(payload: dict[str, Any], seconds: float) -> Any:
    sent = datetime.fromtimestamp(payload["webhookTimestamp"] / 1000, UTC)
    return lambda: sent + timedelta(seconds=seconds)


def test_linear_signature_and_replay_window(engine: Engine, shared_data: Path) -> None:
    body = fixture(shared_data, "linear/issue_update.json")
    payload = json.loads(body)
    headers = {"Linear-Signature": signed(body), "Linear-Delivery": "ld-1"}
    with pytest.raises(WebhookSignatureError):
        receive_linear(
            engine, {"Linear-Signature": "ab" * 32}, body, SECRET, clock=linear_clock(payload, 5)
        )
    with pytest.raises(WebhookSignatureError, match="replay"):
        receive_linear(engine, headers, body, SECRET, clock=linear_clock(payload, 120))
    assert counts(engine) == (0, 0)
    result = receive_linear(engine, headers, body, SECRET, clock=linear_clock(payload, 5))
    assert (result.status, result.http_status, result.event) == ("processed", 200, "Issue.update")
    with Session(engine) as session:
        raw = session.scalars(select(RawRecord)).one()
        assert raw.source == f"linear@{payload['organizationId']}"
        issue = session.scalars(select(Issue)).one()
        assert (issue.key, issue.status, issue.status_category) == (
            "WEB-44",
            "In Progress",
            "in_progress",
        )
    garbage = b"[1, 2"
    with pytest.raises(WebhookPayloadError):
        receive_linear(engine, {"Linear-Signature": signed(garbage)}, garbage, SECRET)
    assert counts(engine) == (1, 1)


def test_asana_handshake_then_signed_events(engine: Engine, shared_data: Path) -> None:
    hello = receive_asana(engine, {"X-Hook-Secret": SECRET}, b"", None)
    assert (hello.status, hello.reply_headers) == ("handshake", {"X-Hook-Secret": SECRET})
    event = json.loads(
        (shared_data / "asana-openapi/schema-examples/EventResponse.json").read_text()
    )
    body = json.dumps({"events": [event]}).encode()
    with pytest.raises(WebhookSignatureError):
        receive_asana(engine, {"X-Hook-Signature": "00"}, body, SECRET)
    assert (
        receive_asana(engine, {"X-Hook-Signature": signed(body)}, body, SECRET).status == "accepted"
    )
    wrong = b'{"data": []}'
    with pytest.raises(WebhookPayloadError, match="no events list"):
        receive_asana(engine, {"X-Hook-Signature": signed(wrong)}, wrong, SECRET)
    assert counts(engine) == (1, 1)

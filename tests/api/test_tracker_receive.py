"""POST /api/v1/webhooks/{jira,linear,asana} through the HTTP application, replaying the
published Jira and Linear deliveries (zulip-webhook-fixtures) signed, on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import NOW, World, make_world
from sqlalchemy import func, select

from diogen.ingest.models import QuarantinedRecord, RawRecord, WebhookSecret
from diogen.ingest.tracker_webhooks import asana_hook_token, verify_asana_token
from diogen.ingest.webhooks import WebhookSignatureError
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


def asana_url(hook: str, token: str | None = "") -> str:
    """The target URL an Asana webhook is created with: its hook and that hook's token, the
    hex HMAC-SHA256 of the hook's name keyed by DIOGEN_ASANA_WEBHOOK_SECRET."""
    if token == "":
        token = digest(ASANA, hook.encode())
    return f"{V}/webhooks/asana?hook={hook}" + (f"&token={token}" if token is not None else "")


def asana_events(shared_data: Path) -> bytes:
    event = json.loads(
        (shared_data / "asana-openapi/schema-examples/EventResponse.json").read_text()
    )
    return json.dumps({"events": [event]}).encode()


def stored_secrets(world: World) -> list[tuple[str, str]]:
    with world.session() as session:
        rows = session.execute(select(WebhookSecret.hook, WebhookSecret.secret))
        return sorted((hook, secret) for hook, secret in rows)


def test_asana_handshake_then_deliveries(
    world: World, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="diogen")
    url = asana_url("tasks")
    hello = world.client.post(url, headers={"X-Hook-Secret": "from-asana"})
    assert hello.status_code == 200 and hello.headers["x-hook-secret"] == "from-asana"
    swap = world.client.post(url, headers={"X-Hook-Secret": "someone-else"})
    assert swap.status_code == 401  # the first secret stays
    assert swap.headers["content-type"].startswith("application/problem+json")
    assert "x-hook-secret" not in swap.headers
    assert stored_secrets(world) == [("tasks", "from-asana")]
    body = asana_events(shared_data)
    signed = {"X-Hook-Signature": digest("from-asana", body)}
    delivered = world.client.post(url, content=body, headers=signed)
    assert delivered.status_code == 202, delivered.text
    again = world.client.post(url, content=body, headers=signed)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    wrong = world.client.post(url, content=body, headers={"X-Hook-Signature": digest(ASANA, body)})
    assert wrong.status_code == 401  # this hook's secret is the handshake's
    # Deliveries come to the URL the webhook was created with: its token is checked too.
    for bad in (asana_url("tasks", None), asana_url("tasks", "0" * 64)):
        assert world.client.post(bad, content=body, headers=signed).status_code == 401
    # A hook without a handshake has no secret: nothing verifies its deliveries.
    for key in (ASANA, "from-asana"):
        other = world.client.post(
            asana_url("other"), content=body, headers={"X-Hook-Signature": digest(key, body)}
        )
        assert other.status_code == 401, other.text
        assert "handshake was not received" in other.json()["detail"]
    assert counts(world) == (1, 0)
    logged = [r for r in caplog.records if r.name.startswith("diogen")]
    assert logged  # each request is logged: never with the secrets nor the URL's token
    for secret in ("from-asana", "someone-else", digest(ASANA, b"tasks")):
        assert not any(secret in f"{r.getMessage()} {vars(r)}" for r in logged)


def test_asana_handshake_needs_the_hooks_token(world: World, shared_data: Path) -> None:
    """Asana makes up the secret and sends it in the handshake: only the URL's token, which
    only the operator can derive, tells Asana's handshake from anyone else's."""
    for url in (
        asana_url("tasks", None),  # no token
        asana_url("tasks", "0" * 64),  # a guess
        asana_url("tasks", digest(ASANA, b"other")),  # another hook's token
        asana_url("tasks", digest("not-the-key", b"tasks")),
        f"{V}/webhooks/asana",  # the default hook, no token
    ):
        answer = world.client.post(url, headers={"X-Hook-Secret": "attacker"})
        assert answer.status_code == 401, (url, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "token" in answer.json()["detail"]
        assert "x-hook-secret" not in answer.headers
    assert stored_secrets(world) == []
    # The default hook (no ?hook=) has a token of its own too.
    default = world.client.post(
        f"{V}/webhooks/asana?token={digest(ASANA, b'default')}", headers={"X-Hook-Secret": "s"}
    )
    assert default.status_code == 200 and default.headers["x-hook-secret"] == "s"
    assert stored_secrets(world) == [("default", "s")]
    assert counts(world) == (0, 0)


def test_asana_hook_tokens() -> None:
    """A hook's token is what `printf %s tasks | openssl dgst -sha256 -hmac s3cret` prints
    (docs/trackers.md); any other token, or none, is refused."""
    token = "a394a45eeb72e1a0b223b32b797de11d9b14ee3845988784c10da893cac4a2f9"
    assert asana_hook_token("s3cret", "tasks") == token
    verify_asana_token("s3cret", "tasks", token)
    verify_asana_token("s3cret", "tasks", token.upper())
    for wrong in (None, "", token[:-1], asana_hook_token("s3cret", "other"), "é" * 64):
        with pytest.raises(WebhookSignatureError, match="no token or a wrong one"):
            verify_asana_token("s3cret", "tasks", wrong)
    with pytest.raises(WebhookSignatureError):
        verify_asana_token("another-key", "tasks", token)


def test_asana_webhooks_are_off_without_their_secret(database_url: str, shared_data: Path) -> None:
    """Without DIOGEN_ASANA_WEBHOOK_SECRET nobody registers a hook, and nothing is stored."""
    world = make_world(database_url)
    try:
        for url in (f"{V}/webhooks/asana?hook=evil", asana_url("evil")):
            hello = world.client.post(url, headers={"X-Hook-Secret": "attacker"})
            assert hello.status_code == 401, hello.text
            assert hello.headers["content-type"].startswith("application/problem+json")
            assert "DIOGEN_ASANA_WEBHOOK_SECRET" in hello.json()["detail"]
            assert "x-hook-secret" not in hello.headers
        body = asana_events(shared_data)
        signed = world.client.post(
            f"{V}/webhooks/asana?hook=evil",
            content=body,
            headers={"X-Hook-Signature": digest("attacker", body)},
        )
        assert signed.status_code == 401
        assert stored_secrets(world) == [] and counts(world) == (0, 0)
    finally:
        world.close()


def test_tracker_webhooks_are_off_without_secrets(database_url: str, shared_data: Path) -> None:
    world = make_world(database_url)
    try:
        for provider, setting in (("jira", "JIRA"), ("linear", "LINEAR"), ("asana", "ASANA")):
            answer = world.client.post(f"{V}/webhooks/{provider}", content=b"{}")
            assert answer.status_code == 401
            assert f"DIOGEN_{setting}_WEBHOOK_SECRET" in answer.json()["detail"]
    finally:
        world.close()

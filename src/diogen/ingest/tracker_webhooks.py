"""Issue-tracker webhook deliveries (Jira, Linear, Asana): verified, deduplicated, kept in
bronze, and — for Jira and Linear issues — normalised into silver as a sync would.

Plain functions for the HTTP routes. Outcomes: processed 200, accepted (kept in bronze, not
normalised here) 202, duplicate 200, Asana's handshake 200 (echo `reply_headers`). A bad or
missing signature, or a Linear delivery older than `LINEAR_TOLERANCE`, raises
`WebhookSignatureError` (401) and stores nothing; an unreadable body raises
`WebhookPayloadError` (400) and is kept in quarantine.

- Jira: with a secret, either `X-Hub-Signature: sha256=<HMAC-SHA256 of the body>` (Cloud
  webhooks registered with a secret) or the secret itself passed by the route as `token`
  (the `?secret=` of the webhook URL, for sites that cannot sign).
- Linear: `Linear-Signature` (hex HMAC-SHA256 of the body) and `webhookTimestamp` (ms).
- Asana: a request with `X-Hook-Secret` is the handshake (the route stores the secret and
  echoes the header); deliveries carry `X-Hook-Signature` (hex HMAC-SHA256 of the body).
  Asana makes the secret up, so the handshake proves nothing: the route takes one only at a
  URL whose `token` is `asana_hook_token` of its hook, which only the operator can derive.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from diogen.config import BOT_PATTERN
from diogen.connectors.base import RawItem, SilverRow
from diogen.connectors.jira.config import POINTS_FIELDS, IncidentRules
from diogen.connectors.jira.fetch import SiteMeta
from diogen.connectors.jira.issues import IssueRecord, JiraContext
from diogen.connectors.jira.sprints import SPRINT, sprint_values
from diogen.connectors.linear.records import IssueRecord as LinearIssue
from diogen.connectors.linear.records import LinearContext
from diogen.connectors.linear.webhook import ISSUE_ACTIONS, webhook_record
from diogen.db import session_scope, upsert
from diogen.ingest import bronze
from diogen.ingest.batch import TABLE_ORDER
from diogen.ingest.models import RawRecord
from diogen.ingest.runner import utcnow
from diogen.ingest.webhooks import UNREADABLE, WebhookPayloadError, WebhookSignatureError
from diogen.silver import Sprint
from diogen.silver.base import Base
from diogen.silver.work_links import link_work

STREAM = "webhooks"
LINEAR_TOLERANCE = timedelta(minutes=1)
JIRA_ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated")
# A sprint event knows no board name: keep the one a sync stored.
SPRINT_UPDATE = tuple(c.name for c in SPRINT.columns if c.name not in ("id", "board"))
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class TrackerWebhookResult:
    status: str  # processed | accepted | duplicate | handshake
    provider: str
    event: str
    delivery: str
    rows: int = 0
    reply_headers: dict[str, str] = field(default_factory=dict)

    @property
    def http_status(self) -> int:
        return 202 if self.status == "accepted" else 200


@dataclass(frozen=True)
class JiraRules:
    """How a sync of the same site reads issues (see `JiraConfig`)."""

    points_fields: Sequence[str] = POINTS_FIELDS
    incidents: IncidentRules = field(default_factory=IncidentRules)
    bot_pattern: str = BOT_PATTERN


class _Rejected(Exception):
    def __init__(self, message: str, row: dict[str, Any]) -> None:
        super().__init__(message)
        self.message, self.row = message, row


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def verify_jira(
    headers: Mapping[str, str], body: bytes, secret: str | None, token: str | None
) -> None:
    if secret is None:
        return
    signature = _lower(headers).get("x-hub-signature")
    if signature is not None:
        ok = _same(signature, "sha256=" + _hmac(secret, body))
    else:
        ok = _same(token, secret)
    if not ok:
        raise WebhookSignatureError("Jira webhook is not signed with the configured secret")


def verify_hex(signature: str | None, body: bytes, secret: str | None, provider: str) -> None:
    if secret is not None and not _same((signature or "").lower(), _hmac(secret, body)):
        raise WebhookSignatureError(f"{provider} webhook signature does not match the secret")


@dataclass
class _Delivery:
    provider: str
    source: str
    event: str
    id: str
    body: bytes
    clock: Clock

    def parse(self) -> dict[str, Any]:
        try:
            payload = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self.reject(f"{self.provider} webhook body is not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise self.reject(f"{self.provider} webhook body is not a JSON object")
        return payload

    def reject(self, message: str, payload: dict[str, Any] | None = None) -> _Rejected:
        """Keep what could not be read as it came, in a JSON envelope."""
        kept = payload or {"body": self.body.decode("utf-8", "replace")}
        item = RawItem(STREAM, self.id, {"event": self.event, **kept})
        return _Rejected(message, bronze.quarantine_row(self.source, item, message, self.clock()))

    def item(self, payload: dict[str, Any]) -> RawItem:
        return RawItem(STREAM, self.id, payload, {"provider": self.provider, "event": self.event})


def _body_id(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


@contextmanager
def _session(target: Engine | Session) -> Iterator[Session]:
    if isinstance(target, Session):
        yield target
        target.flush()
        return
    with session_scope(target) as session:
        yield session


def _store(
    target: Engine | Session,
    delivery: _Delivery,
    payload: dict[str, Any],
    rows_of: Callable[[Session, dict[str, Any]], list[SilverRow] | None],
) -> TrackerWebhookResult:
    """Dedupe, keep in bronze, normalise (`rows_of` None: not an event we normalise)."""
    try:
        with _session(target) as session:
            data = payload
            if bronze.stored_keys(session, delivery.source, STREAM, [delivery.id]):
                return TrackerWebhookResult(
                    "duplicate", delivery.provider, delivery.event, delivery.id
                )
            item = delivery.item(data)
            bronze.write_raw(session, [bronze.raw_row(delivery.source, item, delivery.clock())])
            try:
                rows = rows_of(session, data)
            except UNREADABLE as exc:
                reason = f"{exc.__class__.__name__}: {exc}"
                raise delivery.reject(f"cannot read {delivery.event}: {reason}", data) from exc
            if rows is None:
                return TrackerWebhookResult(
                    "accepted", delivery.provider, delivery.event, delivery.id
                )
            _write(session, rows)
            keys = [row.values["key"] for row in rows if row.table.name == "issue"]
            if keys:
                link_work(session, keys=keys)  # changes that named the issue before it came
            return TrackerWebhookResult(
                "processed", delivery.provider, delivery.event, delivery.id, len(rows)
            )
    except _Rejected as rejected:
        with _session(target) as session:
            bronze.write_quarantine(session, [rejected.row])
        raise WebhookPayloadError(rejected.message, delivery=delivery.id) from rejected.__cause__


def _write(session: Session, rows: list[SilverRow]) -> None:
    groups: dict[tuple[str, tuple[str, ...] | None, str | None], dict[str, dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row.table.name, row.update, row.protect), {})[row.values["id"]] = (
            row.values
        )
    for (name, columns, protect), values in sorted(
        groups.items(), key=lambda g: TABLE_ORDER[g[0][0]]
    ):
        upsert(
            session,
            Base.metadata.tables[name],
            list(values.values()),
            update=columns,
            protect=protect,
        )


# -- Jira -------------------------------------------------------------------------------------


def receive_jira(
    target: Engine | Session,
    headers: Mapping[str, str],
    body: bytes,
    secret: str | None,
    *,
    token: str | None = None,
    rules: JiraRules | None = None,
    clock: Clock = utcnow,
) -> TrackerWebhookResult:
    """Handle one Jira delivery (issue and sprint events are normalised)."""
    verify_jira(headers, body, secret, token)
    delivery_id = _lower(headers).get("x-atlassian-webhook-identifier") or _body_id(body)
    delivery = _Delivery("jira", "jira", "", delivery_id, body, clock)
    try:
        payload = delivery.parse()
    except _Rejected as rejected:
        raise _quarantined(target, rejected, delivery.id) from None
    delivery.event = str(payload.get("webhookEvent") or "")
    delivery.source = _jira_source(payload)
    used = rules or JiraRules()
    return _store(target, delivery, payload, lambda s, p: _jira_rows(s, delivery, p, used))


def _quarantined(
    target: Engine | Session, rejected: _Rejected, delivery: str
) -> WebhookPayloadError:
    with _session(target) as session:
        bronze.write_quarantine(session, [rejected.row])
    return WebhookPayloadError(rejected.message, delivery=delivery)


def _jira_source(payload: Mapping[str, Any]) -> str:
    thing = payload.get("issue") or payload.get("sprint")
    thing = thing if isinstance(thing, dict) else {}
    host = urlsplit(str(thing.get("self") or "")).netloc.lower()
    return f"jira@{host}" if host else "jira"


def _jira_rows(
    session: Session, delivery: _Delivery, payload: dict[str, Any], rules: JiraRules
) -> list[SilverRow] | None:
    event = delivery.event
    if event.startswith("sprint_"):
        values = sprint_values(delivery.source, payload["sprint"], None)
        return [SilverRow(SPRINT, values, SPRINT_UPDATE)]
    if event not in JIRA_ISSUE_EVENTS:
        return None
    if delivery.source == "jira":
        raise ValueError("the issue names no Jira site (no `self` URL)")
    issue = payload["issue"]
    changelog = payload.get("changelog") or {}
    history = {
        "id": changelog.get("id") or "0",
        "created": payload["timestamp"],
        "author": payload.get("user"),
        "items": changelog.get("items") or [],
    }
    meta = _site_meta(session, delivery.source, rules, history["items"]).for_issue(issue, [history])
    record = IssueRecord(
        JiraContext(delivery.source, rules.incidents, rules.bot_pattern),
        {"issue": issue, "changelog": [history], "meta": meta},
    )
    return record.rows(from_creation=event == "jira:issue_created")


def _site_meta(
    session: Session, source: str, rules: JiraRules, items: list[dict[str, Any]]
) -> SiteMeta:
    """The site's fields and statuses as its last sync read them; without a sync, the
    sprint and story point fields as the changelog names them."""
    stored = {stream: _latest(session, source, stream) for stream in ("fields", "statuses")}
    if stored["fields"] is not None:
        statuses = (stored["statuses"] or {}).get("values") or []
        return SiteMeta.read(stored["fields"]["values"], statuses, list(rules.points_fields))
    named = [
        {"id": str(item.get("fieldId") or item["field"]), "name": str(item["field"])}
        for item in items
        if item.get("field")
    ]
    return SiteMeta.read(named, [], list(rules.points_fields))


def _latest(session: Session, source: str, stream: str) -> dict[str, Any] | None:
    payload: dict[str, Any] | None = session.scalars(
        select(RawRecord.payload)
        .where(RawRecord.source == source, RawRecord.stream == stream)
        .order_by(RawRecord.fetched_at.desc())
        .limit(1)
    ).first()
    return payload


# -- Linear: issues normalised as a sync would; Asana: verified and kept in bronze -----------


def receive_linear(
    target: Engine | Session,
    headers: Mapping[str, str],
    body: bytes,
    secret: str | None,
    *,
    bot_pattern: str = BOT_PATTERN,
    clock: Clock = utcnow,
) -> TrackerWebhookResult:
    """Handle one Linear delivery (issue creations and updates are normalised)."""
    lowered = _lower(headers)
    verify_hex(lowered.get("linear-signature"), body, secret, "Linear")
    delivery = _Delivery(
        "linear", "linear", "", lowered.get("linear-delivery") or _body_id(body), body, clock
    )
    try:
        payload = delivery.parse()
        sent = payload["webhookTimestamp"]
        if not isinstance(sent, int):
            raise TypeError(f"webhookTimestamp is not milliseconds: {sent!r}")
    except (KeyError, TypeError) as exc:
        raise _quarantined(target, delivery.reject(f"Linear webhook: {exc}"), delivery.id) from exc
    except _Rejected as rejected:
        raise _quarantined(target, rejected, delivery.id) from None
    age = abs(clock().timestamp() * 1000 - sent) / 1000
    if secret is not None and age > LINEAR_TOLERANCE.total_seconds():
        raise WebhookSignatureError(f"Linear webhook is {age:.0f} s old: a replay is refused")
    delivery.event = f"{payload.get('type', '')}.{payload.get('action', '')}"
    if payload.get("organizationId"):
        delivery.source = f"linear@{payload['organizationId']}"
    return _store(
        target, delivery, payload, lambda s, p: _linear_rows(s, delivery.source, p, bot_pattern)
    )


def _linear_rows(
    session: Session, source: str, payload: dict[str, Any], bot_pattern: str
) -> list[SilverRow] | None:
    if payload.get("type") != "Issue" or payload.get("action") not in ISSUE_ACTIONS:
        return None
    data = payload.get("data") or {}
    wanted = {
        str(c)
        for c in (data.get("cycleId"), (payload.get("updatedFrom") or {}).get("cycleId"))
        if c
    }
    record = webhook_record(
        payload, _linear_states(session, source), _cycle_ends(session, source, wanted)
    )
    if record is None:
        return None
    keep = () if "project" in data else ("epic_key",)
    issue = LinearIssue(
        LinearContext(source, bot_pattern),
        record,
        from_creation=payload["action"] == "create",
        keep=keep,
    )
    return issue.rows()


def _linear_states(session: Session, source: str) -> dict[str, dict[str, Any]]:
    """Workflow states by id, from the teams the last syncs stored."""
    teams = session.scalars(
        select(RawRecord.payload).where(RawRecord.source == source, RawRecord.stream == "teams")
    )
    return {
        str(state["id"]): {"name": state.get("name"), "type": state.get("type")}
        for team in teams
        for state in (team.get("states") or {}).get("nodes") or []
    }


def _cycle_ends(session: Session, source: str, cycles: set[str]) -> dict[str, dict[str, Any]]:
    """What silver knows of these cycles' ends, as a sync's record names them."""
    if not cycles:
        return {}
    rows = session.execute(
        select(Sprint.external_id, Sprint.planned_end, Sprint.completed_at).where(
            Sprint.source == source, Sprint.external_id.in_(sorted(cycles))
        )
    )
    return {
        str(cycle): {
            "id": cycle,
            "endsAt": ends.isoformat() if ends else None,
            "completedAt": done.isoformat() if done else None,
        }
        for cycle, ends, done in rows
    }


def asana_hook_token(key: str, hook: str) -> str:
    """The `token` of Asana hook `hook`'s URL: the hex HMAC-SHA256 of the hook's name keyed
    by the instance's `asana_webhook_secret`."""
    return _hmac(key, hook.encode())


def verify_asana_token(key: str, hook: str, token: str | None) -> None:
    """Refuse a request to an Asana hook URL whose token is not that hook's (in constant time)."""
    if not _same((token or "").lower(), asana_hook_token(key, hook)):
        raise WebhookSignatureError(
            f"Asana webhook URL for hook {hook!r} has no token or a wrong one: create the "
            "webhook with ?hook=NAME&token=<hex HMAC-SHA256 of NAME keyed by "
            "DIOGEN_ASANA_WEBHOOK_SECRET> (docs/trackers.md)"
        )


def receive_asana(
    target: Engine | Session,
    headers: Mapping[str, str],
    body: bytes,
    secret: str | None,
    *,
    clock: Clock = utcnow,
) -> TrackerWebhookResult:
    """A handshake (`X-Hook-Secret`: the route keeps it as this webhook's secret and echoes
    it), or a signed delivery of events."""
    lowered = _lower(headers)
    if "x-hook-secret" in lowered:
        handshake = lowered["x-hook-secret"]
        return TrackerWebhookResult(
            "handshake", "asana", "handshake", "", reply_headers={"X-Hook-Secret": handshake}
        )
    verify_hex(lowered.get("x-hook-signature"), body, secret, "Asana")
    delivery = _Delivery("asana", "asana", "events", _body_id(body), body, clock)
    try:
        payload = delivery.parse()
        if not isinstance(payload.get("events"), list):
            raise delivery.reject("Asana webhook has no events list", payload)
    except _Rejected as rejected:
        raise _quarantined(target, rejected, delivery.id) from None
    return _store(target, delivery, payload, lambda s, p: None)

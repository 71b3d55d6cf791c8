"""Webhook deliveries: verified, deduplicated, kept in bronze, normalised into silver.

A plain function for the HTTP route to call. Each outcome maps to a status: processed 200,
accepted (kept, not an event we normalise) 202, duplicate 200, bad signature 401 (nothing
stored), malformed body 400 (kept in quarantine).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from diogen.config import BOT_PATTERN, Settings
from diogen.connectors.base import RawItem, SilverRow
from diogen.connectors.github.config import DeploymentRules, GitHubSettings, IssueRules
from diogen.connectors.github.context import RepoContext, source_of
from diogen.connectors.github.events import HANDLED, Event, apply_event, event_rows
from diogen.db import session_scope, upsert
from diogen.errors import ConfigError, InputError, validation_problems
from diogen.ingest import bronze
from diogen.ingest.batch import TABLE_ORDER
from diogen.ingest.runner import REJECTIONS, utcnow
from diogen.metrics.gold import refresh_gold
from diogen.silver import GitRef, Review
from diogen.silver.base import Base
from diogen.silver.deployments import link_deployed_commits
from diogen.silver.keys import ref_id

STREAM = "webhooks"
# What a payload of unexpected shape raises when read (a string where an object belongs: the
# AttributeError of its `.get`): the delivery is rejected into quarantine, never a 500.
UNREADABLE = (*REJECTIONS, AttributeError)
LINKED = {"deployment", "git_ref", "git_commit"}


class WebhookSignatureError(InputError):
    """The delivery is not signed with the configured secret."""

    http_status = 401
    type_slug = "invalid-signature"


class WebhookPayloadError(InputError):
    """The delivery's body or headers cannot be read as a GitHub event."""

    http_status = 400
    type_slug = "invalid-payload"


@dataclass(frozen=True)
class WebhookResult:
    status: str  # processed | accepted | duplicate
    event: str
    delivery: str
    rows: int = 0

    @property
    def http_status(self) -> int:
        return 202 if self.status == "accepted" else 200


@dataclass(frozen=True)
class WebhookRules:
    """What a delivery is normalised by: the deployment rules of its repository and the
    incident rules, both from the `[github]` section, as `sync github` reads them."""

    deployments: Callable[[str], DeploymentRules]
    incidents: IssueRules = field(default_factory=IssueRules)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookRules:
        try:
            section = GitHubSettings(**settings.github)
            common, per_repo = section.rules(
                {"environment_pattern": settings.production_environment}, {}
            )
        except ValidationError as exc:
            raise ConfigError(f"invalid [github] settings: {validation_problems(exc)}") from exc
        by_name = {name.lower(): rules for name, rules in per_repo.items()}
        incidents = IssueRules(labels=section.incident_labels, types=section.incident_types)
        return cls(lambda full_name: by_name.get(full_name.lower(), common), incidents)


def receive_github(
    target: Engine | Session,
    headers: Mapping[str, str],
    body: bytes,
    secret: str | None,
    *,
    rules: Callable[[str], DeploymentRules] | None = None,
    incidents: IssueRules | None = None,
    bot_pattern: str = BOT_PATTERN,
    clock: Callable[[], datetime] = utcnow,
) -> WebhookResult:
    """Handle one GitHub delivery. With an Engine it commits; with a Session it only flushes
    and the caller commits (also when a WebhookPayloadError is raised: its quarantine row).
    `rules` and `incidents` default to none but the defaults (`WebhookRules.from_settings`
    gives those of the settings)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    verify_signature(lowered.get("x-hub-signature-256"), body, secret)
    delivery = Delivery(
        lowered.get("x-github-event", ""), lowered.get("x-github-delivery", ""), body, clock
    )
    try:
        with _session(target) as session:
            given = WebhookRules(rules or _default_rules, incidents or IssueRules())
            return delivery.store(session, given, bot_pattern)
    except _Rejected as rejected:
        with _session(target) as session:
            bronze.write_quarantine(session, [rejected.row])
        raise WebhookPayloadError(rejected.message, delivery=delivery.id) from rejected.__cause__


def _default_rules(_: str) -> DeploymentRules:
    return DeploymentRules()


class _Rejected(Exception):
    def __init__(self, message: str, row: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


@dataclass
class Delivery:
    event: str
    id: str
    body: bytes
    clock: Callable[[], datetime]

    def store(self, session: Session, rules: WebhookRules, bot_pattern: str) -> WebhookResult:
        payload = self.parse()
        source = _source(payload)
        if bronze.stored_keys(session, source, STREAM, [self.id]):
            return WebhookResult("duplicate", self.event, self.id)
        item = RawItem(STREAM, self.id, payload, {"event": self.event, "delivery": self.id})
        received = self.clock()  # also when a membership starts or ends, as a sync's time
        bronze.write_raw(session, [bronze.raw_row(source, item, received)])
        if self.event not in HANDLED:
            return WebhookResult("accepted", self.event, self.id)
        event = Event(self.event, payload, rules.deployments, bot_pattern, rules.incidents)
        try:
            # A savepoint: an event `apply_event` cannot read (a `delete` without its `ref`)
            # leaves no row of it in silver, only its quarantine row and bronze.
            with session.begin_nested():
                rows = event_rows(event, lambda ctx, tag: _tag_sha(session, ctx, tag))
                _write(session, rows)
                apply_event(session, event, received)
        except UNREADABLE as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            row = bronze.quarantine_row(source, item, reason, self.clock())
            raise _Rejected(f"cannot read {self.event} event: {reason}", row) from exc
        for repository in sorted({r.values["repository_id"] for r in rows if _linked(r)}):
            link_deployed_commits(session, repository)
        refresh_gold(
            session, {r.values["repository_id"] for r in rows if r.values.get("repository_id")}
        )
        return WebhookResult("processed", self.event, self.id, len(rows))

    def parse(self) -> dict[str, Any]:
        if not self.event or not self.id:
            raise self._reject("missing X-GitHub-Event or X-GitHub-Delivery header")
        try:
            payload = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._reject(f"webhook body is not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise self._reject("webhook body is not a JSON object")
        return payload

    def _reject(self, message: str) -> _Rejected:
        """Keep an unreadable delivery as it came: its text, in a JSON envelope."""
        text = self.body.decode("utf-8", "replace")
        item = RawItem(STREAM, self.id, {"event": self.event, "body": text})
        return _Rejected(message, bronze.quarantine_row("github", item, message, self.clock()))


def verify_signature(signature: str | None, body: bytes, secret: str | None) -> None:
    """HMAC-SHA256 of the body under the secret, compared in constant time."""
    if secret is not None and not signature_matches(signature, body, secret):
        raise WebhookSignatureError("webhook signature does not match the configured secret")


def signature_matches(signature: str | None, body: bytes, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(signature) and hmac.compare_digest(str(signature).encode(), expected.encode())


@contextmanager
def _session(target: Engine | Session) -> Iterator[Session]:
    if isinstance(target, Session):
        yield target
        target.flush()
        return
    with session_scope(target) as session:
        yield session


def _source(payload: dict[str, Any]) -> str:
    """The instance, from the repository or else (an organisation's event) the sender."""
    url = _object(payload.get("repository")).get("html_url")
    url = url or _object(payload.get("sender")).get("html_url")
    return source_of(url) if isinstance(url, str) else "github"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tag_sha(session: Session, ctx: RepoContext, tag: str) -> str | None:
    return session.scalar(
        select(GitRef.commit_sha).where(GitRef.id == ref_id(ctx.repository_id, "tag", tag))
    )


def _write(session: Session, rows: list[SilverRow]) -> None:
    """Upsert rows parents first; a review comment's review may not be stored yet."""
    groups: dict[tuple[str, tuple[str, ...] | None, str | None], dict[str, dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row.table.name, row.update, row.protect), {})[row.values["id"]] = (
            row.values
        )
    _unlink_missing_reviews(session, groups)
    for (name, columns, protect), values in sorted(
        groups.items(), key=lambda g: TABLE_ORDER[g[0][0]]
    ):
        table = Base.metadata.tables[name]
        upsert(session, table, list(values.values()), update=columns, protect=protect)


def _unlink_missing_reviews(
    session: Session,
    groups: dict[tuple[str, tuple[str, ...] | None, str | None], dict[str, dict[str, Any]]],
) -> None:
    for (name, _, _), values in groups.items():
        if name != "review_comment":
            continue
        for row in values.values():
            if row["review_id"] and session.get(Review, row["review_id"]) is None:
                row["review_id"] = None


def _linked(row: SilverRow) -> bool:
    return row.table.name in LINKED and bool(row.values.get("repository_id"))

"""What issue trackers send: Jira, Linear and Asana webhook deliveries.

Verification, bronze, dedupe, quarantine and normalisation are `diogen.ingest.tracker_webhooks`'
(the same normalisers as the syncs); this module only speaks HTTP, next to the GitHub route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from diogen.accounts.audit import bump_data_version
from diogen.api.deps import StateDep
from diogen.api.routes.common import api_router
from diogen.connectors.jira.config import POINTS_FIELDS, IncidentRules
from diogen.db import session_scope
from diogen.ids import stable_id
from diogen.ingest.models import WebhookSecret
from diogen.ingest.tracker_webhooks import (
    JiraRules,
    TrackerWebhookResult,
    receive_asana,
    receive_jira,
    receive_linear,
    verify_asana_token,
)
from diogen.ingest.webhooks import WebhookPayloadError, WebhookSignatureError

router = api_router("receive")
# Asana's handshake secrets are kept in a 255-character column.
MAX_SECRET = 255
Receive = Callable[[Session], TrackerWebhookResult]


def _responses(provider: str, event: str, signature: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "Stored and normalised (or a duplicate delivery)",
            "content": {
                "application/json": {
                    "example": {"status": "processed", "event": event, "delivery": "d1", "rows": 4}
                }
            },
        },
        202: {
            "description": f"Kept in bronze; a {provider} event Diogen does not normalise",
            "content": {
                "application/json": {
                    "example": {"status": "accepted", "event": "other", "delivery": "d2", "rows": 0}
                }
            },
        },
        401: {"description": f"Bad or missing {signature}; nothing stored"},
        400: {"description": "Unreadable delivery; kept in quarantine"},
    }


def _secret(value: SecretStr | None, setting: str, provider: str) -> str:
    if value is None:
        raise WebhookSignatureError(
            f"{provider} webhooks are off: set {setting} to the webhook's secret"
        )
    return value.get_secret_value()


def _answer(result: TrackerWebhookResult) -> JSONResponse:
    content = {
        "status": result.status,
        "event": result.event,
        "delivery": result.delivery,
        "rows": result.rows,
    }
    return JSONResponse(content, status_code=result.http_status, headers=result.reply_headers)


def _run(engine: Engine, receive: Receive) -> TrackerWebhookResult:
    """One transaction: the delivery's rows and the data version, or its quarantine row."""
    with session_scope(engine) as session:
        try:
            result = receive(session)
        except WebhookPayloadError as exc:
            rejected = exc  # raised after the quarantine row commits
        else:
            if result.status == "processed":
                bump_data_version(session)
            return result
    raise rejected


@router.post(
    "/webhooks/jira",
    summary="A Jira webhook delivery",
    responses=_responses("Jira", "jira:issue_updated", "X-Hub-Signature or ?secret="),
)
async def jira_webhook(
    request: Request,
    state: StateDep,
    secret: Annotated[
        str | None,
        Query(max_length=MAX_SECRET, description="The secret, for sites that cannot sign."),
    ] = None,
) -> JSONResponse:
    """Verified with `jira_webhook_secret` (`DIOGEN_JIRA_WEBHOOK_SECRET`): an
    `X-Hub-Signature: sha256=…` HMAC of the body, or the secret itself in the URL. Issue
    events are normalised as a sync would, sprint events update the sprint."""
    body = await request.body()
    settings = state.settings
    key = _secret(settings.jira_webhook_secret, "DIOGEN_JIRA_WEBHOOK_SECRET", "Jira")
    headers = dict(request.headers)
    rules = JiraRules(
        points_fields=settings.jira_points_fields or POINTS_FIELDS,
        incidents=IncidentRules.of(
            settings.jira_incident_types,
            settings.jira_incident_labels,
            settings.jira_incident_priorities,
        ),
        bot_pattern=settings.bot_pattern,
    )

    def receive(session: Session) -> TrackerWebhookResult:
        return receive_jira(session, headers, body, key, token=secret, rules=rules)

    return _answer(await run_in_threadpool(_run, state.engine, receive))


@router.post(
    "/webhooks/linear",
    summary="A Linear webhook delivery",
    responses=_responses("Linear", "Issue.update", "Linear-Signature, or an old webhookTimestamp"),
)
async def linear_webhook(request: Request, state: StateDep) -> JSONResponse:
    """Verified with `linear_webhook_secret` (`DIOGEN_LINEAR_WEBHOOK_SECRET`): the
    `Linear-Signature` HMAC of the body, and a `webhookTimestamp` within a minute of now.
    Issue creations and updates are normalised as a sync would."""
    body = await request.body()
    settings = state.settings
    key = _secret(settings.linear_webhook_secret, "DIOGEN_LINEAR_WEBHOOK_SECRET", "Linear")
    headers, clock = dict(request.headers), state.clock

    def receive(session: Session) -> TrackerWebhookResult:
        return receive_linear(
            session, headers, body, key, bot_pattern=settings.bot_pattern, clock=clock
        )

    return _answer(await run_in_threadpool(_run, state.engine, receive))


@router.post(
    "/webhooks/asana",
    summary="An Asana webhook handshake or delivery",
    responses=_responses("Asana", "events", "?token= or X-Hook-Signature"),
)
async def asana_webhook(
    request: Request,
    state: StateDep,
    hook: Annotated[
        str,
        Query(
            max_length=100,
            pattern=r"^[A-Za-z0-9_.-]+$",
            description="Which of your Asana webhooks this URL is for (its handshake secret).",
        ),
    ] = "default",
    token: Annotated[
        str | None,
        Query(
            max_length=128,
            description="This hook's token: the hex HMAC-SHA256 of the hook's name keyed by "
            "`asana_webhook_secret`.",
        ),
    ] = None,
) -> JSONResponse:
    """Off unless `asana_webhook_secret` (`DIOGEN_ASANA_WEBHOOK_SECRET`) is set; every
    request's `token` must then be its `hook`'s (docs/trackers.md). The handshake
    (`X-Hook-Secret`) is answered with the same header and its secret kept for this `hook`;
    a hook that has one refuses another. Deliveries are verified against it by
    `X-Hook-Signature` and kept in bronze; a hook without a handshake takes none."""
    key = state.settings.asana_webhook_secret
    if key is None:
        raise WebhookSignatureError(
            "Asana webhooks are off: set DIOGEN_ASANA_WEBHOOK_SECRET to a secret of your own "
            "and create each webhook with its hook's token (docs/trackers.md)"
        )
    verify_asana_token(key.get_secret_value(), hook, token)
    body = await request.body()
    headers = dict(request.headers)
    now = state.clock()
    taken = f"Asana webhook {hook!r} has its secret already"

    def receive(session: Session) -> TrackerWebhookResult:
        stored = session.scalar(
            select(WebhookSecret.secret).where(
                WebhookSecret.provider == "asana", WebhookSecret.hook == hook
            )
        )
        offered = {k.lower(): v for k, v in headers.items()}.get("x-hook-secret")
        if offered is not None:
            if stored is not None:
                raise WebhookSignatureError(taken)
            if not offered or len(offered) > MAX_SECRET:
                raise WebhookSignatureError("Asana handshake secret is empty or too long")
            row_id = stable_id("webhook_secret", "asana", hook)
            session.add(
                WebhookSecret(
                    id=row_id, provider="asana", hook=hook, secret=offered, created_at=now
                )
            )
            try:
                session.flush()
            except IntegrityError:  # a handshake for the same hook committed meanwhile
                raise WebhookSignatureError(taken) from None
            return receive_asana(session, headers, body, None)
        if stored is None:
            raise WebhookSignatureError(
                f"Asana webhook {hook!r} has no secret: its handshake was not received"
            )
        return receive_asana(session, headers, body, stored)

    return _answer(await run_in_threadpool(_run, state.engine, receive))

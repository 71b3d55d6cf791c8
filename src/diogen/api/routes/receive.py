"""What other tools send: GitHub webhooks and generic deployment and incident events.

Both store bronze first and normalise with the same functions as the syncs
(`diogen.ingest.webhooks`, `diogen.ingest.events`); this module only speaks HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from diogen.accounts.audit import bump_data_version
from diogen.accounts.errors import PermissionDenied
from diogen.accounts.roles import at_least
from diogen.api.access import Principal
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.routes.common import api_router, audit
from diogen.api.state import ApiState
from diogen.db import session_scope
from diogen.ingest.event_schema import MAX_EVENTS
from diogen.ingest.events import ingest_events
from diogen.ingest.webhooks import (
    WebhookPayloadError,
    WebhookResult,
    WebhookRules,
    WebhookSignatureError,
    receive_github,
    signature_matches,
)
from diogen.sources.service import webhook_secrets

router = api_router("receive")


@router.post(
    "/webhooks/github",
    summary="A GitHub webhook delivery",
    responses={
        200: {
            "description": "Stored and normalised (or a duplicate delivery)",
            "content": {
                "application/json": {
                    "example": {
                        "status": "processed",
                        "event": "deployment",
                        "delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                        "rows": 3,
                    }
                }
            },
        },
        202: {
            "description": "Kept in bronze; an event Diogen does not normalise",
            "content": {
                "application/json": {
                    "example": {
                        "status": "accepted",
                        "event": "sponsorship",
                        "delivery": "d2",
                        "rows": 0,
                    }
                }
            },
        },
        401: {"description": "Bad or missing X-Hub-Signature-256; nothing stored"},
        400: {"description": "Unreadable delivery; kept in quarantine"},
    },
)
async def github_webhook(request: Request, state: StateDep) -> JSONResponse:
    """Verified with `github_webhook_secret` (`DIOGEN_GITHUB_WEBHOOK_SECRET`), deduplicated by
    `X-GitHub-Delivery`, stored in bronze and normalised into silver by the `[github]`
    section's deployment and incident rules, as `sync github` applies them."""
    body = await request.body()
    secrets = await run_in_threadpool(_github_secrets, state)
    if not secrets:
        raise WebhookSignatureError(
            "GitHub webhooks are off: set DIOGEN_GITHUB_WEBHOOK_SECRET to the webhook's secret, "
            "or give a GitHub connection a webhook_secret"
        )
    signature = request.headers.get("x-hub-signature-256")
    # The source whose secret signed it; none did: the check below answers 401.
    secret = next((s for s in secrets if signature_matches(signature, body, s)), secrets[0])
    rules = WebhookRules.from_settings(state.settings)
    result = await run_in_threadpool(
        _receive_github,
        state.engine,
        dict(request.headers),
        body,
        secret,
        rules,
        state.settings.bot_pattern,
    )
    content: dict[str, Any] = {
        "status": result.status,
        "event": result.event,
        "delivery": result.delivery,
        "rows": result.rows,
    }
    return JSONResponse(content, status_code=result.http_status)


@router.post("/ingest/{source}", summary="Push deployment and incident events")
def ingest(
    source: str,
    session: SessionDep,
    state: StateDep,
    principal: PrincipalDep,
    events: list[dict[str, Any]] = Body(
        ...,
        embed=True,
        max_length=MAX_EVENTS,
        examples=[
            [
                {
                    "type": "deployment",
                    "id": "deploy-4711",
                    "repository": "shop",
                    "sha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
                    "finished_at": "2024-01-05T10:04:00Z",
                }
            ]
        ],
    ),
) -> dict[str, Any]:
    """Pushing events takes the maintainer role. A maintainer of every organisation (an
    administrator, or a key one issued) may name any repository or service; a maintainer of
    some organisations (or their key) only theirs: events naming anything else, or updating
    another organisation's events of the same source, are rejected as unknown. Rejected events
    are listed with their reason and kept in quarantine; the others are stored
    (docs/ingest.md). Each push is in the audit log (`ingest.push`: the source and how many
    events were accepted and rejected)."""
    organizations = _ingest_organizations(principal)
    result = ingest_events(session, source, events, state.clock(), organizations)
    # Counts only, never the events. The entry bumps the data version that cached analytics
    # answers are keyed by. A sender of one organisation: that organisation's admins see it.
    only = sorted(organizations) if organizations is not None else []
    organization = only[0] if len(only) == 1 else None
    counts = {"accepted": result.accepted, "rejected": len(result.rejected)}
    audit(session, state, principal, "ingest.push", source, organization, counts)
    return result.to_json()


def _receive_github(
    engine: Engine,
    headers: dict[str, str],
    body: bytes,
    secret: str,
    rules: WebhookRules,
    bot_pattern: str,
) -> WebhookResult:
    """One transaction: the delivery's rows and the data version, or its quarantine row."""
    with session_scope(engine) as session:
        try:
            result = receive_github(
                session,
                headers,
                body,
                secret,
                rules=rules.deployments,
                incidents=rules.incidents,
                bot_pattern=bot_pattern,
            )
        except WebhookPayloadError as exc:
            rejected = exc  # raised after the quarantine row commits
        else:
            if result.status == "processed":
                bump_data_version(session)
            return result
    raise rejected


def _ingest_organizations(principal: Principal) -> set[str] | None:
    """The organisations whose events `principal` may push; None for all of them."""
    if principal.everywhere is not None and at_least(principal.everywhere, "maintainer"):
        return None
    allowed = {org for org, role in principal.roles.items() if at_least(role, "maintainer")}
    if not allowed:
        raise PermissionDenied("pushing events takes the maintainer role in an organisation")
    return allowed


def _github_secrets(state: ApiState) -> list[str]:
    """The instance's GitHub webhook secret, then each GitHub connection's."""
    given = state.settings.github_webhook_secret
    with session_scope(state.engine) as session:
        stored = webhook_secrets(session, state.settings, "github")
    return ([given.get_secret_value()] if given else []) + stored

"""DORA and data quality reports: exactly the documents of `diogen.metrics`, cached.

The cache key holds every parameter, the resolved scope and the data version (API writes)
with the count and latest end of sync runs (syncs), so any change is seen at once; entries
also expire after `analytics_cache_seconds` for changes made some other way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from diogen.accounts.audit import DATA_VERSION
from diogen.accounts.models import AppState
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.middleware import etag_of
from diogen.api.routes.common import api_router
from diogen.api.routes.scopes import analytics_scope, team_scope
from diogen.api.state import ApiState
from diogen.ingest.models import SyncRun
from diogen.metrics import Scope, data_quality, dora_report, make_window

router = api_router("analytics")
DORA_EXAMPLE = {
    "scope": {"repo": "flask"},
    "window": {"from": "2024-01-01T00:00:00Z", "to": "2024-04-01T00:00:00Z"},
    "benchmarks": "2023",
    "deployment_frequency": {
        "deployments": 12,
        "per_week": 0.92,
        "deploy_days": 11,
        "median_weekly_deployments": 1.0,
        "tier": "high",
    },
    "lead_time_for_changes": {
        "changes": 340,
        "median_hours": 51.2,
        "p75_hours": 120.5,
        "p90_hours": 300.1,
        "tier": "high",
    },
    "change_failure_rate": {"deployments": 12, "failed": 1, "rate": 0.0833, "tier": "high"},
    "failed_deployment_recovery_time": {
        "failures": 1,
        "median_hours": 5.5,
        "p75_hours": 5.5,
        "p90_hours": 5.5,
        "tier": "high",
    },
    "rework_rate": {"deployments": 12, "rework": 1, "rate": 0.0833},
}
DORA_KEYS = list(DORA_EXAMPLE)
QUALITY_EXAMPLE = {
    "scope": {"repo": "flask"},
    "release_pattern": r"^v?\d+\.\d+(\.\d+)?(\+[0-9A-Za-z.-]+)?$",
    "problems": 3,
    "findings": [
        {
            "check": "unattributed_incidents",
            "title": "Incidents without a deployment",
            "reason": "...",
            "count": 3,
            "examples": [],
        }
    ],
}


def document(example: dict[str, Any], required: list[str] | None = None) -> dict[int | str, Any]:
    """The 200 answer of a report route: a JSON object with these keys, and an example."""
    if required is None:
        required = list(example)
    return {
        200: {
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": required},
                    "example": example,
                }
            }
        }
    }


From = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="Window start, included: YYYY-MM-DD or ISO 8601 "
        "(default: 90 days before `to`).",
    ),
]
To = Annotated[
    str | None,
    Query(
        alias="to",
        max_length=40,
        description="Window end, excluded (default: start of tomorrow, UTC).",
    ),
]
Bucket = Annotated[
    Literal["day", "week", "month"] | None,
    Query(description="Also break the window down by day, week or month."),
]
Benchmarks = Annotated[
    Literal["2023", "2024", "2021"] | None,
    Query(description="DORA report year whose tiers to use."),
]
Explain = Annotated[bool, Query(description="Add the rows behind every number (`evidence`).")]
Name = Annotated[str | None, Query(max_length=255)]


# Cache entries are "<ETag>\n<JSON>"; the format is part of the key, so that entries of
# another format (another version of Diogen sharing the Redis) are never read as this one.
ENTRY_FORMAT = "etag+json"


def _version(session: Session) -> str:
    """The data version and the count and latest end of sync runs, in one round trip."""
    version, runs, finished = session.execute(_VERSIONS).one()
    return f"{version or 0}:{runs}:{finished}"


# Built once: every analytics request reads it.
_VERSIONS = select(
    select(AppState.int_value).where(AppState.name == DATA_VERSION).scalar_subquery(),
    select(func.count(SyncRun.id)).scalar_subquery(),
    select(func.max(SyncRun.finished_at)).scalar_subquery(),
)


def cached(
    state: ApiState, session: Session, key: dict[str, Any], compute: Callable[[], dict[str, Any]]
) -> Response:
    ttl = state.settings.analytics_cache_seconds
    versioned = {**key, "version": _version(session), "format": ENTRY_FORMAT}
    digest = hashlib.sha256(json.dumps(versioned, sort_keys=True, default=str).encode()).hexdigest()

    def compute_and_store() -> bytes:
        body = json.dumps(compute()).encode()
        entry = etag_of(body).encode() + b"\n" + body
        if ttl:
            state.cache.set(digest, entry, ttl)
        return entry

    entry = state.cache.get(digest) if ttl else None
    if entry is None:
        # A waiting request has read nothing it needs again: its connection goes back to the
        # pool, so that waiters cannot exhaust it while reports are computed.
        entry = state.flights.run(
            digest,
            compute_and_store,
            lambda: state.cache.get(digest) if ttl else None,
            session.rollback,
        )
    etag, _, body = entry.partition(b"\n")
    return Response(body, media_type="application/json", headers={"ETag": etag.decode()})


def _dora(
    state: ApiState,
    session: Session,
    scope: Scope,
    start: str | None,
    end: str | None,
    bucket: str | None,
    benchmarks: str | None,
    explain: bool,
) -> Response:
    window = make_window(start, end, now=state.clock())
    settings = state.settings
    year = benchmarks or settings.benchmarks
    key = {
        "report": "dora",
        "scope": scope.to_json(),
        "window": window.to_json(),
        "bucket": bucket,
        "benchmarks": year,
        "explain": explain,
        "environment": settings.production_environment,
    }
    return cached(
        state,
        session,
        key,
        lambda: dora_report(
            session,
            scope,
            window,
            bucket=bucket,
            benchmarks=year,
            production_environment=settings.production_environment,
            explain=explain,
        ),
    )


@router.get("/analytics/dora", response_class=Response, responses=document(DORA_EXAMPLE, DORA_KEYS))
def dora(
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    start: From = None,
    end: To = None,
    bucket: Bucket = None,
    benchmarks: Benchmarks = None,
    explain: Explain = False,
    org: Name = None,
    team: Name = None,
    repo: Name = None,
    service: Name = None,
) -> Response:
    """The DORA report (DESIGN.md §6), the same document as `diogen metrics dora --format json`.

    Scope by names: `repo`, `service`, `team` (with `org`), `org`; none means your organisation.
    """
    scope = analytics_scope(session, principal, org=org, team=team, repo=repo, service=service)
    return _dora(state, session, scope, start, end, bucket, benchmarks, explain)


@router.get(
    "/analytics/dora/{team_id}",
    response_class=Response,
    responses=document(DORA_EXAMPLE, DORA_KEYS),
)
def team_dora(
    team_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    start: From = None,
    end: To = None,
    bucket: Bucket = None,
    benchmarks: Benchmarks = None,
    explain: Explain = False,
) -> Response:
    """The DORA report of one team, counting events by team membership at their time."""
    scope = team_scope(session, principal, team_id)
    return _dora(state, session, scope, start, end, bucket, benchmarks, explain)


@router.get(
    "/analytics/data-quality",
    response_class=Response,
    responses=document(QUALITY_EXAMPLE, list(QUALITY_EXAMPLE)),
)
def quality(
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    org: Name = None,
    team: Name = None,
    repo: Name = None,
    service: Name = None,
) -> Response:
    """What the metrics leave out or cannot attribute, and why (`diogen doctor`)."""
    scope = analytics_scope(session, principal, org=org, team=team, repo=repo, service=service)
    pattern = state.settings.effective_release_pattern
    key = {"report": "data_quality", "scope": scope.to_json(), "release_pattern": pattern}
    return cached(
        state, session, key, lambda: data_quality(session, scope, release_pattern=pattern)
    )

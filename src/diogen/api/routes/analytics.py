"""DORA and data quality reports: exactly the documents of `diogen.metrics`, cached
(`diogen.api.reports`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.recipes import dora_key, quality_key
from diogen.api.reports import EVIDENCE_PARTS, cached
from diogen.api.routes.common import api_router
from diogen.api.routes.scopes import analytics_scope, team_scope
from diogen.api.state import ApiState
from diogen.metrics import Scope, make_window

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
_PARTS = "|".join(EVIDENCE_PARTS)
Evidence = Annotated[
    str | None,
    Query(
        pattern=f"^({_PARTS})(,({_PARTS}))*$",
        description="Only these lists of the evidence, comma-separated (implies `explain`): "
        f"{', '.join(EVIDENCE_PARTS)} (`changes` of pull requests only). A page showing part "
        "of the evidence of a large organisation reads a tenth of the document.",
    ),
]
Name = Annotated[str | None, Query(max_length=255)]


def _dora(
    state: ApiState,
    session: Session,
    scope: Scope,
    start: str | None,
    end: str | None,
    bucket: str | None,
    benchmarks: str | None,
    explain: bool,
    evidence: str | None = None,
) -> Response:
    window = make_window(start, end, now=state.clock())
    parts = None if evidence is None else list(set(evidence.split(",")))
    key = dora_key(
        state.settings,
        scope,
        window,
        bucket=bucket,
        benchmarks=benchmarks,
        explain=explain,
        evidence=parts,
    )
    return cached(state, session, key)


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
    evidence: Evidence = None,
    org: Name = None,
    team: Name = None,
    repo: Name = None,
    service: Name = None,
) -> Response:
    """The DORA report (DESIGN.md §6), the same document as `diogen metrics dora --format json`.

    Scope by names: `repo`, `service`, `team` (with `org`), `org`; none means your organisation.
    """
    scope = analytics_scope(session, principal, org=org, team=team, repo=repo, service=service)
    return _dora(state, session, scope, start, end, bucket, benchmarks, explain, evidence)


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
    evidence: Evidence = None,
) -> Response:
    """The DORA report of one team, counting events by team membership at their time."""
    scope = team_scope(session, principal, team_id)
    return _dora(state, session, scope, start, end, bucket, benchmarks, explain, evidence)


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
    return cached(state, session, quality_key(state.settings, scope))

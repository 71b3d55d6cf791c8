"""Flow, team, pull request and sprint reports: documents of `diogen.metrics`, cached.

Issues and sprints carry no organisation (docs/flow.md), so an organisation-wide issue figure
would count every organisation's issues. Only a principal with a role everywhere (an instance
administrator) gets those; members ask for a team, whose issues are its members'.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from diogen.api.access import Principal
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.recipes import (
    MEMBERS_NOTE,
    flow_key,
    review_load_key,
    sprint_key,
    sprints_key,
)
from diogen.api.reports import cached
from diogen.api.routes.analytics import (
    Benchmarks,
    Bucket,
    Explain,
    From,
    Name,
    To,
    document,
)
from diogen.api.routes.common import api_router
from diogen.api.routes.flow_examples import (
    FLOW_EXAMPLE,
    PULLS_EXAMPLE,
    REVIEW_LOAD_EXAMPLE,
    SPRINT_EXAMPLE,
    SPRINTS_EXAMPLE,
    TEAM_EXAMPLE,
)
from diogen.api.routes.scopes import analytics_scope, team_scope
from diogen.errors import InputError
from diogen.metrics import Scope, make_window

router = api_router("analytics")
TeamId = Annotated[str | None, Query(max_length=64, description="A team's id.")]


def _issues_readable(principal: Principal, scope: Scope) -> bool:
    """Whether the issue figures of `scope` stay inside what the principal may read."""
    return principal.everywhere is not None or scope.team is not None


@router.get("/analytics/flow", response_class=Response, responses=document(FLOW_EXAMPLE))
def flow(
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    start: From = None,
    end: To = None,
    bucket: Bucket = None,
    explain: Explain = False,
    org: Name = None,
    team: Name = None,
    repo: Name = None,
    service: Name = None,
) -> Response:
    """The flow report (docs/flow.md `flow_report`), as `diogen metrics flow --format json`.

    Pull request throughput, size, review, WIP and ageing, the bottleneck stage and its trend;
    issue cycle and lead time and sprint velocity (for a team, or every organisation for an
    instance administrator; `null` with a note otherwise).
    """
    scope = analytics_scope(session, principal, org=org, team=team, repo=repo, service=service)
    window = make_window(start, end, now=state.clock())
    issues = _issues_readable(principal, scope)
    key = flow_key(state.settings, scope, window, issues=issues, bucket=bucket, explain=explain)
    return cached(state, session, key)


@router.get("/analytics/team/{team_id}", response_class=Response, responses=document(TEAM_EXAMPLE))
def team_report(
    team_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    start: From = None,
    end: To = None,
    bucket: Bucket = None,
    benchmarks: Benchmarks = None,
) -> Response:
    """A team's DORA report (`dora`) and flow report (`flow`) over the same window."""
    scope = team_scope(session, principal, team_id)
    settings = state.settings
    year = benchmarks or settings.benchmarks
    window = make_window(start, end, now=state.clock())

    key = {
        "report": "team",
        "team_id": team_id,
        "scope": scope.to_json(),
        "window": window.to_json(),
        "bucket": bucket,
        "benchmarks": year,
        "environment": settings.production_environment,
        "bots": settings.bot_pattern,
    }
    return cached(state, session, key)


@router.get("/analytics/pull-requests", response_class=Response, responses=document(PULLS_EXAMPLE))
def pull_requests(
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    start: From = None,
    end: To = None,
    org: Name = None,
    team: Name = None,
    repo: Name = None,
    service: Name = None,
) -> Response:
    """Pull requests deployed in the window, each with its stage times, and the stage summary.

    Stages (coding, pickup, review, deploy: sample size, median, p75, p90) are the DORA lead
    time breakdown (`lead_time_for_changes.stages`); `items` are its pull request changes from
    the evidence, longest lead time first.
    """
    scope = analytics_scope(session, principal, org=org, team=team, repo=repo, service=service)
    settings = state.settings
    window = make_window(start, end, now=state.clock())

    key = {
        "report": "pull_requests",
        "scope": scope.to_json(),
        "window": window.to_json(),
        "environment": settings.production_environment,
    }
    return cached(state, session, key)


def _sprint_scope(session: Session, principal: Principal, team_id: str | None) -> Scope | None:
    """The team's issues, or every issue for an instance administrator asking for no team."""
    if team_id is not None:
        return team_scope(session, principal, team_id)
    if principal.everywhere is None:
        raise InputError(f"{MEMBERS_NOTE}: give team_id=", field="team_id")
    return None


@router.get("/analytics/sprints", response_class=Response, responses=document(SPRINTS_EXAMPLE))
def sprints(
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    team_id: TeamId = None,
    start: From = None,
    end: To = None,
) -> Response:
    """Sprints completed in the window with their figures (committed, added, removed,
    completed, carry-over), the velocity (mean and median completed points) and the mean
    committed points: the `sprints` section of the flow report."""
    scope = _sprint_scope(session, principal, team_id)
    window = make_window(start, end, now=state.clock())
    return cached(state, session, sprints_key(state.settings, scope, window))


@router.get(
    "/analytics/sprints/{sprint_id}", response_class=Response, responses=document(SPRINT_EXAMPLE)
)
def sprint(
    sprint_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    team_id: TeamId = None,
    explain: Explain = False,
) -> Response:
    """One sprint (by id): committed vs completed, scope added and removed, carry-over, and
    the burndown/burnup `series` (docs/flow.md `sprint_report`). For a team, the sprint counts
    the team's issues only, and a sprint without any of them is not found."""
    scope = _sprint_scope(session, principal, team_id)
    key = sprint_key(state.settings, sprint_id, scope, explain=explain)
    return cached(state, session, key)


@router.get(
    "/analytics/review-load", response_class=Response, responses=document(REVIEW_LOAD_EXAMPLE)
)
def reviews_per_person(
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    start: From = None,
    end: To = None,
    explain: Explain = False,
    org: Name = None,
    team: Name = None,
    repo: Name = None,
    service: Name = None,
) -> Response:
    """Review load per person (docs/flow.md): reviews submitted, pull requests reviewed and
    review comments written in the window on the scope's pull requests, most reviews first;
    `explain=true` adds the reviews and comments left out and why."""
    scope = analytics_scope(session, principal, org=org, team=team, repo=repo, service=service)
    window = make_window(start, end, now=state.clock())
    key = review_load_key(state.settings, scope, window, explain=explain)
    return cached(state, session, key)

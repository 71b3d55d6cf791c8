"""Deployments and incidents: listed and filtered; a deployment marked failed by hand, an
incident linked to the deployment that caused it by hand. Both verdicts win over every rule
in the metrics (DESIGN.md §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from diogen.accounts.roles import Role
from diogen.api.access import Principal
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.pagination import Page, paginate, sort_choices
from diogen.api.routes.common import (
    DEFAULT_PAGE,
    Cursor,
    Limit,
    answer,
    api_router,
    audit,
    aware,
    missing,
)
from diogen.metrics.window import isoformat_z
from diogen.silver import Deployment, Incident, Repository, Service

router = api_router("deployments and incidents")
DEPLOYMENT_SORTS = {
    "finished_at": Deployment.finished_at,
    "started_at": Deployment.started_at,
    "id": Deployment.id,
}
INCIDENT_SORTS = {
    "started_at": Incident.started_at,
    "resolved_at": Incident.resolved_at,
    "id": Incident.id,
}
DEPLOYMENT_EXAMPLE: JsonDict = {
    "id": "d1e2...",
    "repository_id": "4e5f...",
    "service_id": None,
    "environment": "production",
    "sha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
    "ref_name": "v1.4.0",
    "status": "success",
    "started_at": None,
    "finished_at": "2024-03-01T12:00:00Z",
    "is_rollback": False,
    "marked_failed": None,
    "fixes_deployment_id": None,
    "source": "git-tag",
    "external_id": "4e5f...:v1.4.0",
    "url": None,
}
INCIDENT_EXAMPLE: JsonDict = {
    "id": "1c2d...",
    "title": "Checkout errors",
    "severity": "sev2",
    "status": "resolved",
    "service_id": "6a7b...",
    "repository_id": None,
    "deployment_id": "d1e2...",
    "started_at": "2024-03-01T13:00:00Z",
    "detected_at": "2024-03-01T13:05:00Z",
    "resolved_at": "2024-03-01T15:00:00Z",
    "source": "pagerduty",
    "external_id": "P123",
    "url": None,
    "evidence": {"manual_link": {"by": "3c4d...", "at": "2024-03-02T09:00:00Z"}},
}
Since = Annotated[datetime | None, Query(description="Included lower bound.")]
Until = Annotated[datetime | None, Query(description="Excluded upper bound.")]
Short = Annotated[str | None, Query(max_length=255)]


class DeploymentOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [DEPLOYMENT_EXAMPLE]}
    )
    id: str
    repository_id: str | None
    service_id: str | None
    environment: str
    sha: str
    ref_name: str | None
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    is_rollback: bool
    marked_failed: bool | None
    fixes_deployment_id: str | None
    source: str
    external_id: str | None
    url: str | None


class DeploymentPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"marked_failed": True}]}
    )
    marked_failed: bool | None = Field(
        description="true: failed, false: not failed whatever the rules say, null: rules decide."
    )


class IncidentOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [INCIDENT_EXAMPLE]}
    )
    id: str
    title: str | None
    severity: str | None
    status: str | None
    service_id: str | None
    repository_id: str | None
    deployment_id: str | None
    started_at: datetime
    detected_at: datetime | None
    resolved_at: datetime | None
    source: str
    external_id: str | None
    url: str | None
    evidence: dict[str, Any] | None


class IncidentPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"deployment_id": "d1e2..."}]}
    )
    deployment_id: str | None = Field(
        max_length=64, description="The deployment that caused it; null removes the link."
    )


def _deployment_org() -> Any:
    return func.coalesce(Repository.organization_id, Service.organization_id)


def _visible_deployments(principal: Principal) -> ColumnElement[bool]:
    """`principal.visible(_deployment_org())`, said without the COALESCE, whose selectivity
    PostgreSQL cannot estimate: guessing that 1 % of the rows pass, it sorted every
    deployment (130 ms at 50,000) instead of reading the newest in index order (6 ms)."""
    by_repository = principal.visible(Repository.organization_id)
    by_service = and_(
        Repository.organization_id.is_(None), principal.visible(Service.organization_id)
    )
    return or_(by_repository, by_service)


def _deployments() -> Select[Any]:
    return (
        select(Deployment)
        .outerjoin(Repository, Repository.id == Deployment.repository_id)
        .outerjoin(Service, Service.id == Deployment.service_id)
    )


# Built once: building a statement and its cache key costs more than running it.
_ONE_DEPLOYMENT = (
    select(Deployment, _deployment_org())
    .outerjoin(Repository, Repository.id == Deployment.repository_id)
    .outerjoin(Service, Service.id == Deployment.service_id)
    .where(Deployment.id == bindparam("id"))
)


def deployment_for(
    session: Session, principal: Principal, deployment_id: str, role: Role
) -> tuple[Deployment, str | None]:
    """The deployment and its organisation, once the principal may act on it as `role`."""
    row = session.execute(_ONE_DEPLOYMENT, {"id": deployment_id}).first()
    not_found = missing("deployment", deployment_id)
    if row is None:
        raise not_found
    principal.require(row[1], role, not_found)
    return row[0], row[1]


@router.get("/deployments", response_model=Page[DeploymentOut])
def list_deployments(
    session: SessionDep,
    principal: PrincipalDep,
    repository_id: Short = None,
    service_id: Short = None,
    environment: Short = None,
    status: Short = None,
    marked_failed: bool | None = None,
    finished_from: Since = None,
    finished_to: Until = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(DEPLOYMENT_SORTS)))] = "-finished_at",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Deployments of your organisations' repositories and services, newest first."""
    stmt = _deployments().where(_visible_deployments(principal))
    for column, value in (
        (Deployment.repository_id, repository_id),
        (Deployment.service_id, service_id),
        (Deployment.environment, environment),
        (Deployment.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if marked_failed is not None:
        stmt = stmt.where(Deployment.marked_failed.is_(marked_failed))
    if finished_from is not None:
        stmt = stmt.where(Deployment.finished_at >= aware(finished_from, "finished_from"))
    if finished_to is not None:
        stmt = stmt.where(Deployment.finished_at < aware(finished_to, "finished_to"))
    rows, after = paginate(
        session,
        stmt,
        sort=sort,
        fields=DEPLOYMENT_SORTS,
        id_column=Deployment.id,
        cursor=cursor,
        limit=limit,
    )
    items = [DeploymentOut.model_validate(r) for r in rows]
    return answer(Page[DeploymentOut](items=items, next_cursor=after))


@router.get("/deployments/{deployment_id}", response_model=DeploymentOut)
def get_deployment(deployment_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    return answer(
        DeploymentOut.model_validate(deployment_for(session, principal, deployment_id, "viewer")[0])
    )


@router.patch("/deployments/{deployment_id}", response_model=DeploymentOut)
def mark_deployment(
    deployment_id: str,
    body: DeploymentPatch,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> DeploymentOut:
    """Mark a deployment failed (or explicitly not failed, or back to the rules) (maintainers).
    Syncs keep this verdict."""
    deployment, org = deployment_for(session, principal, deployment_id, "maintainer")
    deployment.marked_failed = body.marked_failed
    session.flush()
    audit(
        session,
        state,
        principal,
        "deployment.mark_failed",
        deployment.id,
        org,
        {"marked_failed": body.marked_failed},
    )
    return DeploymentOut.model_validate(deployment)


def _incidents() -> tuple[Select[Any], Any]:
    """Incidents with the organisation they belong to: of their repository, their service,
    or their linked deployment's repository, in that order."""
    linked = aliased(Deployment)
    linked_repo = aliased(Repository)
    org = func.coalesce(
        Repository.organization_id, Service.organization_id, linked_repo.organization_id
    )
    stmt = (
        select(Incident)
        .outerjoin(Repository, Repository.id == Incident.repository_id)
        .outerjoin(Service, Service.id == Incident.service_id)
        .outerjoin(linked, linked.id == Incident.deployment_id)
        .outerjoin(linked_repo, linked_repo.id == linked.repository_id)
    )
    return stmt, org


def incident_for(
    session: Session, principal: Principal, incident_id: str, role: Role
) -> tuple[Incident, str | None]:
    stmt, org = _incidents()
    row = session.execute(stmt.add_columns(org).where(Incident.id == incident_id)).first()
    not_found = missing("incident", incident_id)
    if row is None:
        raise not_found
    principal.require(row[1], role, not_found)
    return row[0], row[1]


@router.get("/incidents", response_model=Page[IncidentOut])
def list_incidents(
    session: SessionDep,
    principal: PrincipalDep,
    service_id: Short = None,
    repository_id: Short = None,
    deployment_id: Short = None,
    severity: Short = None,
    status: Short = None,
    linked: Annotated[
        bool | None, Query(description="Only incidents with (or without) a linked deployment.")
    ] = None,
    started_from: Since = None,
    started_to: Until = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(INCIDENT_SORTS)))] = "-started_at",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Incidents of your organisations, newest first."""
    stmt, org = _incidents()
    stmt = stmt.where(principal.visible(org))
    for column, value in (
        (Incident.service_id, service_id),
        (Incident.repository_id, repository_id),
        (Incident.deployment_id, deployment_id),
        (Incident.severity, severity),
        (Incident.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if linked is not None:
        stmt = stmt.where(
            Incident.deployment_id.is_not(None) if linked else Incident.deployment_id.is_(None)
        )
    if started_from is not None:
        stmt = stmt.where(Incident.started_at >= aware(started_from, "started_from"))
    if started_to is not None:
        stmt = stmt.where(Incident.started_at < aware(started_to, "started_to"))
    rows, after = paginate(
        session,
        stmt,
        sort=sort,
        fields=INCIDENT_SORTS,
        id_column=Incident.id,
        cursor=cursor,
        limit=limit,
    )
    return answer(
        Page[IncidentOut](items=[IncidentOut.model_validate(r) for r in rows], next_cursor=after)
    )


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    return answer(
        IncidentOut.model_validate(incident_for(session, principal, incident_id, "viewer")[0])
    )


@router.patch("/incidents/{incident_id}", response_model=IncidentOut)
def link_incident(
    incident_id: str,
    body: IncidentPatch,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> IncidentOut:
    """Link an incident to the deployment that caused it, or remove the link (maintainers of
    both). The link is an explicit attribution: it wins over the time-window rule."""
    incident, org = incident_for(session, principal, incident_id, "maintainer")
    if body.deployment_id is not None:
        deployment_for(session, principal, body.deployment_id, "maintainer")
    incident.deployment_id = body.deployment_id
    evidence = dict(incident.evidence or {})
    evidence["manual_link"] = {
        "by": principal.user_id,
        "at": isoformat_z(state.clock()),
        "deployment_id": body.deployment_id,
    }
    incident.evidence = evidence
    session.flush()
    audit(
        session,
        state,
        principal,
        "incident.link",
        incident.id,
        org,
        {"deployment_id": body.deployment_id},
    )
    return IncidentOut.model_validate(incident)

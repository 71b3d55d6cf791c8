"""Services: deployable units of an organisation, owned by a team."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.accounts.errors import ConflictError
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
    get_row,
    missing,
    new_id,
)
from diogen.api.routes.repositories import check_owner
from diogen.silver import Service

router = api_router("services")
SORTS = {"name": Service.name, "id": Service.id}
SERVICE_EXAMPLE: JsonDict = {
    "id": "6a7b...",
    "organization_id": "5f0c...",
    "owning_team_id": "77aa...",
    "name": "checkout",
    "source": "api",
    "external_id": None,
    "url": None,
}


class ServiceOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [SERVICE_EXAMPLE]}
    )
    id: str
    organization_id: str | None
    owning_team_id: str | None
    name: str
    source: str
    external_id: str | None
    url: str | None


class ServiceIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"organization_id": "5f0c...", "name": "checkout"}]},
    )
    organization_id: str = Field(max_length=64)
    name: str = Field(min_length=1, max_length=255)
    owning_team_id: str | None = Field(None, max_length=64)
    url: str | None = Field(None, max_length=2000)


class ServicePatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"owning_team_id": "77aa..."}]}
    )
    name: str | None = Field(None, min_length=1, max_length=255)
    owning_team_id: str | None = Field(None, max_length=64)
    url: str | None = Field(None, max_length=2000)


def service_for(session: Session, principal: Principal, service_id: str, role: Role) -> Service:
    service = session.get(Service, service_id)
    org = service.organization_id if service else service_id
    principal.require(org, role, missing("service", service_id))
    return get_row(session, Service, service_id, "service")


def _check_name(session: Session, organization_id: str | None, name: str, own_id: str) -> None:
    other = session.scalar(
        select(Service.id).where(Service.organization_id == organization_id, Service.name == name)
    )
    if other is not None and other != own_id:
        raise ConflictError(f"the organisation has a service named {name!r}", name=name)


@router.get("/services", response_model=Page[ServiceOut])
def list_services(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    owning_team_id: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(SORTS)))] = "name",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Services of your organisations; filter by organisation, owning team or name."""
    stmt = select(Service).where(principal.visible(Service.organization_id))
    for column, value in (
        (Service.organization_id, organization_id),
        (Service.owning_team_id, owning_team_id),
        (Service.name, name),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    rows, after = paginate(
        session, stmt, sort=sort, fields=SORTS, id_column=Service.id, cursor=cursor, limit=limit
    )
    return answer(
        Page[ServiceOut](items=[ServiceOut.model_validate(r) for r in rows], next_cursor=after)
    )


@router.post("/services", response_model=ServiceOut, status_code=201)
def create_service(
    body: ServiceIn, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> ServiceOut:
    """Create a service in an organisation (maintainers)."""
    principal.require(
        body.organization_id, "maintainer", missing("organization", body.organization_id)
    )
    check_owner(session, body.organization_id, body.owning_team_id)
    service = Service(id=new_id(), source="api", external_id=None, **body.model_dump())
    _check_name(session, body.organization_id, body.name, service.id)
    session.add(service)
    session.flush()
    audit(
        session,
        state,
        principal,
        "service.create",
        service.id,
        service.organization_id,
        body.model_dump(),
    )
    return ServiceOut.model_validate(service)


@router.get("/services/{service_id}", response_model=ServiceOut)
def get_service(service_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    return answer(ServiceOut.model_validate(service_for(session, principal, service_id, "viewer")))


@router.patch("/services/{service_id}", response_model=ServiceOut)
def update_service(
    service_id: str,
    body: ServicePatch,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> ServiceOut:
    service = service_for(session, principal, service_id, "maintainer")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        _check_name(session, service.organization_id, changes["name"], service.id)
        service.name = changes["name"]
    for name in ("owning_team_id", "url"):
        if name in changes:
            setattr(service, name, changes[name])
    check_owner(session, service.organization_id, service.owning_team_id)
    session.flush()
    audit(session, state, principal, "service.update", service.id, service.organization_id, changes)
    return ServiceOut.model_validate(service)


@router.delete("/services/{service_id}", status_code=204)
def delete_service(
    service_id: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> Response:
    """Delete a service; its deployments and incidents stay, without a service (maintainers)."""
    service = service_for(session, principal, service_id, "maintainer")
    audit(session, state, principal, "service.delete", service.id, service.organization_id)
    session.delete(service)
    return Response(status_code=204)

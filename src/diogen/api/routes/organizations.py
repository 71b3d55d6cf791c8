"""Organisations and who holds which role in them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy import select

from diogen.accounts.errors import ConflictError
from diogen.accounts.models import RoleGrant, User
from diogen.accounts.roles import Role
from diogen.accounts.users import grant_role, normalize_email, revoke_role
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
from diogen.silver import Organization

router = api_router("organizations")
SORTS = {"name": Organization.name, "id": Organization.id}
ORG_EXAMPLE: JsonDict = {
    "id": "5f0c6b0e8a2d4c1b9e7f3a2d1c0b9a88",
    "name": "acme",
    "source": "api",
    "external_id": None,
    "url": None,
}


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [ORG_EXAMPLE]})
    id: str
    name: str
    source: str
    external_id: str | None
    url: str | None


class OrganizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "acme"}]})
    name: str = Field(min_length=1, max_length=255)
    url: str | None = Field(None, max_length=2000)


class OrganizationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "acme"}]})
    name: str | None = Field(None, min_length=1, max_length=255)
    url: str | None = Field(None, max_length=2000)


class MemberIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.com", "role": "maintainer"}]},
    )
    email: str = Field(min_length=3, max_length=320)
    role: Role


class MemberOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user_id": "9a1b...", "email": "ada@example.com", "role": "viewer"}]
        }
    )
    user_id: str
    email: str
    role: Role


def _org(session: SessionDep, principal: PrincipalDep, org_id: str, role: Role) -> Organization:
    principal.require(org_id, role, missing("organization", org_id))
    return get_row(session, Organization, org_id, "organization")


def _unique_name(session: SessionDep, name: str, org_id: str | None = None) -> None:
    other = session.scalar(select(Organization.id).where(Organization.name == name))
    if other is not None and other != org_id:
        raise ConflictError(f"an organization named {name!r} exists", name=name)


@router.get("/organizations", response_model=Page[OrganizationOut])
def list_organizations(
    session: SessionDep,
    principal: PrincipalDep,
    name: Annotated[str | None, Query(max_length=255)] = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(SORTS)))] = "name",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Organisations you hold a role in (every one for an instance administrator)."""
    stmt = select(Organization).where(principal.visible(Organization.id))
    if name is not None:
        stmt = stmt.where(Organization.name == name)
    rows, after = paginate(
        session,
        stmt,
        sort=sort,
        fields=SORTS,
        id_column=Organization.id,
        cursor=cursor,
        limit=limit,
    )
    return answer(
        Page[OrganizationOut](
            items=[OrganizationOut.model_validate(r) for r in rows], next_cursor=after
        )
    )


@router.post("/organizations", response_model=OrganizationOut, status_code=201)
def create_organization(
    body: OrganizationIn, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> OrganizationOut:
    """Create an organisation (instance administrators only)."""
    principal.require_superuser()
    _unique_name(session, body.name)
    org = Organization(
        id=new_id(),
        name=body.name,
        source="api",
        external_id=None,
        url=body.url,
    )
    session.add(org)
    session.flush()
    audit(session, state, principal, "organization.create", org.id, org.id, body.model_dump())
    return OrganizationOut.model_validate(org)


@router.get("/organizations/{org_id}", response_model=OrganizationOut)
def get_organization(org_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    return answer(OrganizationOut.model_validate(_org(session, principal, org_id, "viewer")))


@router.patch("/organizations/{org_id}", response_model=OrganizationOut)
def update_organization(
    org_id: str,
    body: OrganizationPatch,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> OrganizationOut:
    """Rename an organisation or change its link (organisation admins)."""
    org = _org(session, principal, org_id, "admin")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        _unique_name(session, changes["name"], org.id)
        org.name = changes["name"]
    if "url" in changes:
        org.url = changes["url"]
    session.flush()
    audit(session, state, principal, "organization.update", org.id, org.id, changes)
    return OrganizationOut.model_validate(org)


@router.delete("/organizations/{org_id}", status_code=204)
def delete_organization(
    org_id: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> Response:
    """Delete an organisation with its teams and grants; its repositories and services stay,
    without an organisation (instance administrators only)."""
    org = _org(session, principal, org_id, "admin")
    principal.require_superuser()
    audit(session, state, principal, "organization.delete", org.id, org.id)
    session.delete(org)
    return Response(status_code=204)


@router.get("/organizations/{org_id}/members", response_model=list[MemberOut])
def list_members(org_id: str, session: SessionDep, principal: PrincipalDep) -> list[MemberOut]:
    """Who holds which role in the organisation (organisation admins)."""
    _org(session, principal, org_id, "admin")
    rows = session.execute(
        select(RoleGrant.user_id, User.email, RoleGrant.role)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.organization_id == org_id)
        .order_by(User.email)
    ).all()
    return [MemberOut(user_id=r.user_id, email=r.email, role=r.role) for r in rows]


@router.post("/organizations/{org_id}/members", response_model=MemberOut)
def set_member(
    org_id: str, body: MemberIn, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> MemberOut:
    """Give an existing user a role in the organisation, replacing any role they had there."""
    _org(session, principal, org_id, "admin")
    email = normalize_email(body.email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise missing("user", email)
    grant = grant_role(session, user.id, org_id, body.role, now=state.clock())
    audit(session, state, principal, "member.set", grant.id, org_id, {"role": body.role})
    return MemberOut(user_id=user.id, email=user.email, role=body.role)


@router.delete("/organizations/{org_id}/members/{user_id}", status_code=204)
def remove_member(
    org_id: str, user_id: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> Response:
    _org(session, principal, org_id, "admin")
    revoke_role(session, user_id, org_id)
    audit(session, state, principal, "member.remove", user_id, org_id)
    return Response(status_code=204)

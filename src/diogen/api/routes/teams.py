"""Teams (nested within an organisation) and their memberships over time."""

from __future__ import annotations

from datetime import datetime
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
    aware,
    get_row,
    missing,
    new_id,
)
from diogen.api.routes.developers import visible_person
from diogen.errors import InputError
from diogen.ids import stable_id
from diogen.silver import Person, Team, TeamMembership

router = api_router("teams")
SORTS = {"name": Team.name, "id": Team.id}
MEMBER_SORTS = {"valid_from": TeamMembership.valid_from, "id": TeamMembership.id}
TEAM_EXAMPLE: JsonDict = {
    "id": "77aa...",
    "organization_id": "5f0c...",
    "parent_id": None,
    "name": "platform",
    "source": "api",
    "external_id": None,
    "url": None,
}
MEMBER_EXAMPLE: JsonDict = {
    "id": "88bb...",
    "team_id": "77aa...",
    "person_id": "99cc...",
    "display_name": "Ada Lovelace",
    "role": "engineer",
    "valid_from": "2024-01-01T00:00:00Z",
    "valid_to": None,
}


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [TEAM_EXAMPLE]})
    id: str
    organization_id: str | None
    parent_id: str | None
    name: str
    source: str
    external_id: str | None
    url: str | None


class TeamIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"organization_id": "5f0c...", "name": "platform"}]},
    )
    organization_id: str = Field(max_length=64)
    name: str = Field(min_length=1, max_length=255)
    parent_id: str | None = Field(None, max_length=64)


class TeamPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "platform", "parent_id": None}]}
    )
    name: str | None = Field(None, min_length=1, max_length=255)
    parent_id: str | None = Field(None, max_length=64)


class MembershipOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [MEMBER_EXAMPLE]}
    )
    id: str
    team_id: str
    person_id: str
    # The person's name, so a team's member list needs no request per member.
    display_name: str | None = None
    role: str | None
    valid_from: datetime
    valid_to: datetime | None


def memberships_out(session: Session, rows: list[TeamMembership]) -> list[MembershipOut]:
    """The memberships with their people's names, read in one statement."""
    ids = {row.person_id for row in rows}
    people = select(Person.id, Person.display_name).where(Person.id.in_(ids))
    names = {person_id: name for person_id, name in session.execute(people)}
    return [
        MembershipOut.model_validate(row).model_copy(
            update={"display_name": names.get(row.person_id)}
        )
        for row in rows
    ]


class MembershipIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"person_id": "99cc...", "valid_from": "2024-01-01T00:00:00Z"}]
        },
    )
    person_id: str = Field(max_length=64)
    role: str | None = Field(None, max_length=50)
    valid_from: datetime
    valid_to: datetime | None = None


class MembershipPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"valid_to": "2024-06-30T00:00:00Z"}]}
    )
    role: str | None = Field(None, max_length=50)
    valid_to: datetime | None = None


def team_for(session: Session, principal: Principal, team_id: str, role: Role) -> Team:
    team = session.get(Team, team_id)
    principal.require(team.organization_id if team else team_id, role, missing("team", team_id))
    return get_row(session, Team, team_id, "team")


def _check_parent(session: Session, team: Team, parent_id: str | None) -> None:
    """The parent is a team of the same organisation, and not the team or one below it."""
    seen = {team.id}
    current = parent_id
    while current is not None:
        if current in seen:
            raise InputError("a team cannot be inside itself", parent_id=parent_id)
        parent = session.get(Team, current)
        if parent is None or parent.organization_id != team.organization_id:
            raise missing("team", current)
        seen.add(current)
        current = parent.parent_id


def _check_name(session: Session, organization_id: str | None, name: str, team_id: str) -> None:
    other = session.scalar(
        select(Team.id).where(Team.organization_id == organization_id, Team.name == name)
    )
    if other is not None and other != team_id:
        raise ConflictError(f"the organisation has a team named {name!r}", name=name)


def _check_span(valid_from: datetime, valid_to: datetime | None) -> None:
    aware(valid_from, "valid_from")
    if valid_to is not None and aware(valid_to, "valid_to") <= valid_from:
        raise InputError("valid_to must be after valid_from", valid_to=valid_to)


@router.get("/teams", response_model=Page[TeamOut])
def list_teams(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    parent_id: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(SORTS)))] = "name",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Teams of your organisations; filter by organisation, parent team or exact name."""
    stmt = select(Team).where(principal.visible(Team.organization_id))
    for column, value in (
        (Team.organization_id, organization_id),
        (Team.parent_id, parent_id),
        (Team.name, name),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    rows, after = paginate(
        session, stmt, sort=sort, fields=SORTS, id_column=Team.id, cursor=cursor, limit=limit
    )
    return answer(Page[TeamOut](items=[TeamOut.model_validate(r) for r in rows], next_cursor=after))


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(
    body: TeamIn, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> TeamOut:
    """Create a team in an organisation, optionally inside another team (maintainers)."""
    org_id = body.organization_id
    principal.require(org_id, "maintainer", missing("organization", org_id))
    team = Team(
        id=new_id(),
        organization_id=org_id,
        name=body.name,
        source="api",
    )
    _check_name(session, org_id, body.name, team.id)
    _check_parent(session, team, body.parent_id)
    team.parent_id = body.parent_id
    session.add(team)
    session.flush()
    audit(session, state, principal, "team.create", team.id, org_id, body.model_dump())
    return TeamOut.model_validate(team)


@router.get("/teams/{team_id}", response_model=TeamOut)
def get_team(team_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    return answer(TeamOut.model_validate(team_for(session, principal, team_id, "viewer")))


@router.patch("/teams/{team_id}", response_model=TeamOut)
def update_team(
    team_id: str, body: TeamPatch, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> TeamOut:
    """Rename a team or move it under another team of its organisation (maintainers)."""
    team = team_for(session, principal, team_id, "maintainer")
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        _check_name(session, team.organization_id, changes["name"], team.id)
        team.name = changes["name"]
    if "parent_id" in changes:
        _check_parent(session, team, body.parent_id)
        team.parent_id = body.parent_id
    session.flush()
    audit(session, state, principal, "team.update", team.id, team.organization_id, changes)
    return TeamOut.model_validate(team)


@router.delete("/teams/{team_id}", status_code=204)
def delete_team(
    team_id: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> Response:
    """Delete a team and its memberships; teams inside it move to the top (maintainers)."""
    team = team_for(session, principal, team_id, "maintainer")
    audit(session, state, principal, "team.delete", team.id, team.organization_id)
    session.delete(team)
    return Response(status_code=204)


@router.get("/teams/{team_id}/members", response_model=Page[MembershipOut])
def list_memberships(
    team_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    at: Annotated[
        datetime | None, Query(description="Only memberships valid at this time.")
    ] = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(MEMBER_SORTS)))] = "valid_from",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Who is (or was) in the team, from `valid_from` until `valid_to` (open when null)."""
    team_for(session, principal, team_id, "viewer")
    stmt = select(TeamMembership).where(TeamMembership.team_id == team_id)
    if at is not None:
        moment = aware(at, "at")
        stmt = stmt.where(
            TeamMembership.valid_from <= moment,
            (TeamMembership.valid_to.is_(None)) | (TeamMembership.valid_to > moment),
        )
    rows, after = paginate(
        session,
        stmt,
        sort=sort,
        fields=MEMBER_SORTS,
        id_column=TeamMembership.id,
        cursor=cursor,
        limit=limit,
    )
    return answer(
        Page[MembershipOut](items=memberships_out(session, list(rows)), next_cursor=after)
    )


@router.post("/teams/{team_id}/members", response_model=MembershipOut, status_code=201)
def add_membership(
    team_id: str,
    body: MembershipIn,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> MembershipOut:
    """Put a developer in the team from `valid_from` (until `valid_to`) (maintainers)."""
    team = team_for(session, principal, team_id, "maintainer")
    visible_person(session, principal, body.person_id, "viewer")
    _check_span(body.valid_from, body.valid_to)
    membership = TeamMembership(
        id=stable_id("api", "team_membership", team.id, body.person_id, body.valid_from),
        team_id=team.id,
        person_id=body.person_id,
        role=body.role,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
    )
    if session.get(TeamMembership, membership.id) is not None:
        raise ConflictError("this membership exists already", person_id=body.person_id)
    session.add(membership)
    session.flush()
    audit(
        session,
        state,
        principal,
        "team_membership.create",
        membership.id,
        team.organization_id,
        body.model_dump(mode="json"),
    )
    return memberships_out(session, [membership])[0]


def _membership(session: Session, team_id: str, membership_id: str) -> TeamMembership:
    membership = session.get(TeamMembership, membership_id)
    if membership is None or membership.team_id != team_id:
        raise missing("membership", membership_id)
    return membership


@router.patch("/teams/{team_id}/members/{membership_id}", response_model=MembershipOut)
def update_membership(
    team_id: str,
    membership_id: str,
    body: MembershipPatch,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> MembershipOut:
    """End a membership (set `valid_to`) or change the role in it (maintainers)."""
    team = team_for(session, principal, team_id, "maintainer")
    membership = _membership(session, team_id, membership_id)
    changes = body.model_dump(exclude_unset=True)
    if "valid_to" in changes:
        _check_span(membership.valid_from, body.valid_to)
        membership.valid_to = body.valid_to
    if "role" in changes:
        membership.role = body.role
    session.flush()
    audit(
        session,
        state,
        principal,
        "team_membership.update",
        membership.id,
        team.organization_id,
        body.model_dump(mode="json", exclude_unset=True),
    )
    return memberships_out(session, [membership])[0]


@router.delete("/teams/{team_id}/members/{membership_id}", status_code=204)
def delete_membership(
    team_id: str,
    membership_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> Response:
    team = team_for(session, principal, team_id, "maintainer")
    membership = _membership(session, team_id, membership_id)
    audit(session, state, principal, "team_membership.delete", membership.id, team.organization_id)
    session.delete(membership)
    return Response(status_code=204)

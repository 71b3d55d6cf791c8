"""Developers: people with the identities they use in each tool; manual merge and unmerge.

A developer is visible through an organisation when they are in one of its teams or authored
a commit in one of its repositories. Merges and unmerges lock the identities they move
(`identity.person_locked`), so later syncs keep the person a human chose.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.orm import Session

from diogen.accounts.roles import Role
from diogen.api.access import Principal
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.pagination import Page, paginate, sort_choices
from diogen.api.routes.common import DEFAULT_PAGE, Cursor, Limit, answer, api_router, audit, missing
from diogen.errors import InputError
from diogen.ids import stable_id
from diogen.silver import Commit, Identity, Person, Repository, Team, TeamMembership

router = api_router("developers")
SORTS = {
    "display_name": Person.display_name,
    "primary_email": Person.primary_email,
    "id": Person.id,
}
MAX_MERGE = 100
IDENTITY_EXAMPLE: JsonDict = {
    "id": "11dd...",
    "provider": "git",
    "key": "ada@example.com",
    "login": None,
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "is_bot": False,
    "person_locked": False,
}
DEVELOPER_EXAMPLE: JsonDict = {
    "id": "99cc...",
    "display_name": "Ada Lovelace",
    "primary_email": "ada@example.com",
    "is_bot": False,
    "identities": [IDENTITY_EXAMPLE],
}


class IdentityOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [IDENTITY_EXAMPLE]}
    )
    id: str
    provider: str
    key: str
    login: str | None
    email: str | None
    name: str | None
    is_bot: bool
    person_locked: bool


class DeveloperOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DEVELOPER_EXAMPLE]})
    id: str
    display_name: str | None
    primary_email: str | None
    is_bot: bool
    identities: list[IdentityOut]


class DeveloperPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"display_name": "Ada Lovelace"}]}
    )
    display_name: str | None = Field(None, max_length=255)
    primary_email: str | None = Field(None, max_length=320)
    is_bot: bool | None = None


class MergeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"person_ids": ["aa01...", "bb02..."]}]}
    )
    person_ids: list[str] = Field(min_length=1, max_length=MAX_MERGE)


class UnmergeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"identity_ids": ["11dd..."]}]}
    )
    identity_ids: list[str] = Field(min_length=1, max_length=MAX_MERGE)


def _in_orgs(principal: Principal) -> ColumnElement[bool]:
    """Persons in a team or with a commit of an organisation the principal may read."""
    in_team = exists(
        select(TeamMembership.id)
        .join(Team, Team.id == TeamMembership.team_id)
        .where(TeamMembership.person_id == Person.id, principal.visible(Team.organization_id))
    )
    authored = exists(
        select(Identity.id)
        .join(Commit, Commit.author_identity_id == Identity.id)
        .join(Repository, Repository.id == Commit.repository_id)
        .where(Identity.person_id == Person.id, principal.visible(Repository.organization_id))
    )
    return or_(in_team, authored)


def person_orgs(session: Session, person_id: str) -> set[str | None]:
    """Organisations (None: rows of no organisation) through which a person is visible."""
    teams = session.scalars(
        select(Team.organization_id)
        .join(TeamMembership, TeamMembership.team_id == Team.id)
        .where(TeamMembership.person_id == person_id)
    )
    repos = session.scalars(
        select(Repository.organization_id)
        .join(Commit, Commit.repository_id == Repository.id)
        .join(Identity, Identity.id == Commit.author_identity_id)
        .where(Identity.person_id == person_id)
        .distinct()
    )
    return {*teams, *repos} or {None}


def visible_person(session: Session, principal: Principal, person_id: str, role: Role) -> Person:
    person = session.get(Person, person_id)
    not_found = missing("developer", person_id)
    if person is None:
        raise not_found
    principal.require_any(person_orgs(session, person_id), role, not_found)
    return person


def _out(session: Session, people: list[Person]) -> list[DeveloperOut]:
    identities = defaultdict(list)
    ids = [p.id for p in people]
    for identity in session.scalars(
        select(Identity)
        .where(Identity.person_id.in_(ids))
        .order_by(Identity.provider, Identity.key)
    ):
        identities[identity.person_id].append(IdentityOut.model_validate(identity))
    return [
        DeveloperOut(
            id=p.id,
            display_name=p.display_name,
            primary_email=p.primary_email,
            is_bot=p.is_bot,
            identities=identities[p.id],
        )
        for p in people
    ]


@router.get("/developers", response_model=Page[DeveloperOut])
def list_developers(
    session: SessionDep,
    principal: PrincipalDep,
    email: Annotated[str | None, Query(max_length=320, description="Exact primary email.")] = None,
    is_bot: bool | None = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(SORTS)))] = "display_name",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Developers of your organisations with their identities."""
    stmt = select(Person)
    if principal.everywhere is None:
        stmt = stmt.where(_in_orgs(principal))
    if email is not None:
        stmt = stmt.where(Person.primary_email == email.strip().lower())
    if is_bot is not None:
        stmt = stmt.where(Person.is_bot == is_bot)
    rows, after = paginate(
        session, stmt, sort=sort, fields=SORTS, id_column=Person.id, cursor=cursor, limit=limit
    )
    return answer(Page[DeveloperOut](items=_out(session, list(rows)), next_cursor=after))


@router.get("/developers/{person_id}", response_model=DeveloperOut)
def get_developer(person_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    return answer(_out(session, [visible_person(session, principal, person_id, "viewer")])[0])


@router.patch("/developers/{person_id}", response_model=DeveloperOut)
def update_developer(
    person_id: str,
    body: DeveloperPatch,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> DeveloperOut:
    """Correct a developer's name, email or bot flag (maintainers)."""
    person = visible_person(session, principal, person_id, "maintainer")
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(person, name, value if name != "is_bot" or value is not None else person.is_bot)
    session.flush()
    audit(session, state, principal, "developer.update", person.id, None, changes)
    return _out(session, [person])[0]


@router.post("/developers/{person_id}/merge", response_model=DeveloperOut)
def merge_developers(
    person_id: str, body: MergeIn, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> DeveloperOut:
    """Merge other developers into this one: their identities (locked against later syncs) and
    team memberships move here, and they are deleted (maintainers of every one involved)."""
    target = visible_person(session, principal, person_id, "maintainer")
    others = [visible_person(session, principal, p, "maintainer") for p in body.person_ids]
    if target.id in {p.id for p in others}:
        raise InputError("a developer cannot be merged into itself", person_id=person_id)
    ids = [p.id for p in others]
    # The target's own identities are locked too: the merge is a verdict on all of them.
    session.execute(
        update(Identity)
        .where(Identity.person_id.in_([*ids, target.id]))
        .values(person_id=target.id, person_locked=True)
    )
    _move_memberships(session, ids, target.id)
    for person in others:
        session.delete(person)
    session.flush()
    audit(session, state, principal, "developer.merge", target.id, None, {"merged": ids})
    return _out(session, [target])[0]


def _move_memberships(session: Session, from_ids: list[str], to_id: str) -> None:
    """Memberships move to the target; one it already has (same team and start) is dropped."""
    kept = {
        (m.team_id, m.valid_from)
        for m in session.scalars(select(TeamMembership).where(TeamMembership.person_id == to_id))
    }
    for membership in session.scalars(
        select(TeamMembership).where(TeamMembership.person_id.in_(from_ids))
    ).all():
        if (membership.team_id, membership.valid_from) in kept:
            session.delete(membership)
            continue
        kept.add((membership.team_id, membership.valid_from))
        membership.person_id = to_id


@router.post("/developers/{person_id}/unmerge", response_model=list[DeveloperOut])
def unmerge_developer(
    person_id: str,
    body: UnmergeIn,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> list[DeveloperOut]:
    """Split identities off into developers of their own (locked against later syncs).
    Returns this developer, then each new one (maintainers)."""
    source = visible_person(session, principal, person_id, "maintainer")
    moved = []
    for identity_id in dict.fromkeys(body.identity_ids):
        identity = session.get(Identity, identity_id)
        if identity is None or identity.person_id != source.id:
            raise missing("identity of this developer", identity_id)
        person = _own_person(session, identity)
        identity.person_id = person.id
        identity.person_locked = True
        moved.append(person)
    session.flush()
    audit(
        session,
        state,
        principal,
        "developer.unmerge",
        source.id,
        None,
        {"identities": list(body.identity_ids)},
    )
    return _out(session, [source, *moved])


def _own_person(session: Session, identity: Identity) -> Person:
    person_id = stable_id("api", "person", identity.id)
    person = session.get(Person, person_id)
    if person is None:
        person = Person(
            id=person_id,
            display_name=identity.name or identity.login,
            primary_email=(identity.email or "").lower() or None,
            is_bot=identity.is_bot,
        )
        session.add(person)
        session.flush()
    return person

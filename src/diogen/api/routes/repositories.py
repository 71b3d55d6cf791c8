"""Repositories: listed, registered by hand, assigned to an organisation and an owning team."""

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
)
from diogen.silver import Repository, Team
from diogen.silver.keys import repository_id

router = api_router("repositories")
SORTS = {"name": Repository.name, "provider": Repository.provider, "id": Repository.id}
REPO_EXAMPLE: JsonDict = {
    "id": "4e5f...",
    "organization_id": "5f0c...",
    "owning_team_id": "77aa...",
    "provider": "git",
    "name": "flask",
    "default_branch": "main",
    "location": "/src/flask",
    "source": "git",
    "external_id": "flask",
    "url": None,
}


class RepositoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [REPO_EXAMPLE]})
    id: str
    organization_id: str | None
    owning_team_id: str | None
    provider: str
    name: str
    default_branch: str | None
    location: str | None
    source: str
    external_id: str | None
    url: str | None


class RepositoryIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"organization_id": "5f0c...", "provider": "github", "name": "flask"}]
        },
    )
    organization_id: str = Field(max_length=64)
    provider: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=255)
    owning_team_id: str | None = Field(None, max_length=64)
    default_branch: str | None = Field(None, max_length=255)
    url: str | None = Field(None, max_length=2000)


class RepositoryPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"organization_id": "5f0c...", "owning_team_id": None}]},
    )
    organization_id: str | None = Field(None, max_length=64)
    owning_team_id: str | None = Field(None, max_length=64)
    default_branch: str | None = Field(None, max_length=255)
    url: str | None = Field(None, max_length=2000)


def repository_for(session: Session, principal: Principal, repo_id: str, role: Role) -> Repository:
    repo = session.get(Repository, repo_id)
    org = repo.organization_id if repo else repo_id
    principal.require(org, role, missing("repository", repo_id))
    return get_row(session, Repository, repo_id, "repository")


def check_owner(session: Session, organization_id: str | None, team_id: str | None) -> None:
    """An owning team belongs to the same organisation as what it owns."""
    if team_id is None:
        return
    team = session.get(Team, team_id)
    if team is None or team.organization_id != organization_id:
        raise missing("team", team_id)


@router.get("/repositories", response_model=Page[RepositoryOut])
def list_repositories(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    owning_team_id: Annotated[str | None, Query(max_length=64)] = None,
    provider: Annotated[str | None, Query(max_length=50)] = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(SORTS)))] = "name",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Repositories of your organisations; filter by organisation, team, provider or name."""
    stmt = select(Repository).where(principal.visible(Repository.organization_id))
    for column, value in (
        (Repository.organization_id, organization_id),
        (Repository.owning_team_id, owning_team_id),
        (Repository.provider, provider),
        (Repository.name, name),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    rows, after = paginate(
        session,
        stmt,
        sort=sort,
        fields=SORTS,
        id_column=Repository.id,
        cursor=cursor,
        limit=limit,
    )
    return answer(
        Page[RepositoryOut](
            items=[RepositoryOut.model_validate(r) for r in rows], next_cursor=after
        )
    )


@router.post("/repositories", response_model=RepositoryOut, status_code=201)
def create_repository(
    body: RepositoryIn, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> RepositoryOut:
    """Register a repository in an organisation before any sync (maintainers). A later sync of
    the same provider and name fills it in."""
    principal.require(
        body.organization_id, "maintainer", missing("organization", body.organization_id)
    )
    check_owner(session, body.organization_id, body.owning_team_id)
    repo_id = repository_id(body.provider, body.name)
    if session.get(Repository, repo_id) is not None:
        raise ConflictError(f"repository {body.provider}/{body.name} exists", name=body.name)
    repo = Repository(
        id=repo_id, source="api", external_id=None, location=None, **body.model_dump()
    )
    session.add(repo)
    session.flush()
    audit(
        session,
        state,
        principal,
        "repository.create",
        repo.id,
        repo.organization_id,
        body.model_dump(),
    )
    return RepositoryOut.model_validate(repo)


@router.get("/repositories/{repo_id}", response_model=RepositoryOut)
def get_repository(repo_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    return answer(
        RepositoryOut.model_validate(repository_for(session, principal, repo_id, "viewer"))
    )


@router.patch("/repositories/{repo_id}", response_model=RepositoryOut)
def update_repository(
    repo_id: str,
    body: RepositoryPatch,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> RepositoryOut:
    """Move a repository to an organisation (maintainer in both), set its owning team, default
    branch or link (maintainers)."""
    repo = repository_for(session, principal, repo_id, "maintainer")
    changes = body.model_dump(exclude_unset=True)
    if "organization_id" in changes:
        principal.require(
            body.organization_id, "maintainer", missing("organization", str(body.organization_id))
        )
        repo.organization_id = body.organization_id
        if "owning_team_id" not in changes:
            repo.owning_team_id = None
    for name in ("owning_team_id", "default_branch", "url"):
        if name in changes:
            setattr(repo, name, changes[name])
    check_owner(session, repo.organization_id, repo.owning_team_id)
    session.flush()
    audit(session, state, principal, "repository.update", repo.id, repo.organization_id, changes)
    return RepositoryOut.model_validate(repo)


@router.delete("/repositories/{repo_id}", status_code=204)
def delete_repository(
    repo_id: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> Response:
    """Delete a repository with its commits, pull requests and deployments (organisation
    admins); its raw records stay, so a sync brings it back."""
    repo = repository_for(session, principal, repo_id, "admin")
    audit(session, state, principal, "repository.delete", repo.id, repo.organization_id)
    session.delete(repo)
    return Response(status_code=204)

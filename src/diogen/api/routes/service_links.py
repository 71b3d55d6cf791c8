"""Which repositories (or paths of a monorepo) make up a service: the links the metrics use to
find a service's pull requests, commits and deployments."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.accounts.errors import ConflictError
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.routes.common import api_router, audit, missing
from diogen.api.routes.services import service_for
from diogen.ids import stable_id
from diogen.silver import Repository, ServiceRepository

router = api_router("services")
LINK_EXAMPLE: JsonDict = {
    "id": "1b2c...",
    "service_id": "6a7b...",
    "repository_id": "4d5e...",
    "repository": "shop",
    "path_prefix": "services/checkout/",
}


class LinkOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [LINK_EXAMPLE]})
    id: str
    service_id: str
    repository_id: str
    repository: str
    path_prefix: str


class LinkList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [LINK_EXAMPLE]}]})
    items: list[LinkOut]


class LinkIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"repository_id": "4d5e...", "path_prefix": "services/checkout/"}]
        },
    )
    repository_id: str = Field(max_length=64)
    path_prefix: str = Field(
        "",
        max_length=1000,
        description="Files under this path of the repository belong to the service; "
        "'' (the default) for the whole repository.",
    )


def _out(link: ServiceRepository, repo: Repository) -> LinkOut:
    return LinkOut(
        id=link.id,
        service_id=link.service_id,
        repository_id=link.repository_id,
        repository=repo.name,
        path_prefix=link.path_prefix,
    )


def _links(session: Session, service_id: str) -> list[LinkOut]:
    rows = session.execute(
        select(ServiceRepository, Repository)
        .join(Repository, Repository.id == ServiceRepository.repository_id)
        .where(ServiceRepository.service_id == service_id)
        .order_by(Repository.name, ServiceRepository.path_prefix, ServiceRepository.id)
    )
    return [_out(link, repo) for link, repo in rows]


@router.get("/services/{service_id}/repositories", response_model=LinkList)
def list_links(service_id: str, session: SessionDep, principal: PrincipalDep) -> LinkList:
    """The repositories (and paths) that make up the service."""
    service = service_for(session, principal, service_id, "viewer")
    return LinkList(items=_links(session, service.id))


@router.post("/services/{service_id}/repositories", response_model=LinkOut, status_code=201)
def add_link(
    service_id: str,
    body: LinkIn,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> LinkOut:
    """Make a repository (or a path of it) part of the service (maintainers). The repository
    must belong to the service's organisation."""
    service = service_for(session, principal, service_id, "maintainer")
    repo = session.get(Repository, body.repository_id)
    if repo is None or repo.organization_id != service.organization_id:
        raise missing("repository", body.repository_id)
    prefix = body.path_prefix.lstrip("/")
    existing = session.scalar(
        select(ServiceRepository.id).where(
            ServiceRepository.service_id == service.id,
            ServiceRepository.repository_id == repo.id,
            ServiceRepository.path_prefix == prefix,
        )
    )
    if existing is not None:
        raise ConflictError(
            f"the service already has {repo.name!r} at path {prefix!r}", link_id=existing
        )
    link = ServiceRepository(
        id=stable_id("api", "service_repository", service.id, repo.id, prefix),
        service_id=service.id,
        repository_id=repo.id,
        path_prefix=prefix,
    )
    session.add(link)
    session.flush()
    changes = {"repository_id": repo.id, "path_prefix": prefix}
    audit(session, state, principal, "service.link", service.id, service.organization_id, changes)
    return _out(link, repo)


@router.delete("/services/{service_id}/repositories/{link_id}", status_code=204)
def remove_link(
    service_id: str,
    link_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> Response:
    """Take a repository (or path) out of the service (maintainers)."""
    service = service_for(session, principal, service_id, "maintainer")
    link = session.get(ServiceRepository, link_id)
    if link is None or link.service_id != service.id:
        raise missing("service repository link", link_id)
    changes = {"repository_id": link.repository_id, "path_prefix": link.path_prefix}
    audit(session, state, principal, "service.unlink", service.id, service.organization_id, changes)
    session.delete(link)
    return Response(status_code=204)

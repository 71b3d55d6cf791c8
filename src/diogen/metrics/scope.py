"""What a report covers: the organisation, a team, a repository or a service (DESIGN.md §5).

Scopes name things the way users do (`Scope(team="payments")`); `resolve_scope` turns names into
ids once, and the `ResolvedScope` hands the queries SQL conditions, so no metric repeats the
rules below:

- organisation: deployments of its repositories or services (every one when no name is given);
- repository: deployments of the repositories of that name (one per provider);
- service: deployments tagged with the service, or of a repository the service spans whole;
  changes of a monorepo service only when they touch a file under its path;
- team (and its sub-teams): a change belongs to the team when its author was a member at the
  time of the change; a deployment when it shipped such a change or its repository or service
  is owned by the team.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, literal, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from diogen.errors import InputError, NotFoundError
from diogen.silver import (
    Commit,
    CommitFile,
    Deployment,
    DeploymentCommit,
    Identity,
    Organization,
    Repository,
    Service,
    ServiceRepository,
    Team,
    TeamMembership,
)

KNOWN_NAMES_SHOWN = 20
SCOPE_KINDS = ("org", "team", "repo", "service")
PLURALS = {
    "organisation": "organisations",
    "team": "teams",
    "repository": "repositories",
    "service": "services",
}


@dataclass(frozen=True)
class Scope:
    """`Scope()` is every repository in the database; at most one of team, repo and service.

    `org` narrows the others to one organisation (a team name is only unique within one).
    """

    org: str | None = None
    team: str | None = None
    repo: str | None = None
    service: str | None = None

    def __post_init__(self) -> None:
        narrowed = [kind for kind in ("team", "repo", "service") if getattr(self, kind)]
        if len(narrowed) > 1:
            raise InputError(
                f"choose one of team, repo and service, not {' and '.join(narrowed)}",
                scope=narrowed,
            )

    def to_json(self) -> dict[str, str | None]:
        # {"org": null} reads as "no organisation filter": every repository in the database.
        shown = {kind: getattr(self, kind) for kind in SCOPE_KINDS if getattr(self, kind)}
        return shown or {"org": None}


@dataclass(frozen=True)
class ServicePath:
    repository_id: str
    path_prefix: str


# When a person belonged to the team: [valid from, valid to), open-ended when None.
Membership = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class TeamShipments:
    """The deployments that shipped a member's change, found in gold (`metrics.team_gold`):
    `ids`, for the repositories whose gold is fresh; `stale`, the others (None: none), for
    which silver is asked."""

    ids: Select[Any]
    stale: Select[Any] | None


@dataclass(frozen=True)
class ResolvedScope:
    """The scope as ids. `None` means "no restriction" for that kind."""

    scope: Scope
    repository_ids: tuple[str, ...] | None = None
    service_ids: tuple[str, ...] | None = None
    team_ids: tuple[str, ...] | None = None
    # Monorepo services: changes count only when they touch a file under one of these paths.
    service_paths: tuple[ServicePath, ...] = ()
    # A team's members: identity id -> the times its person belonged to the team.
    members: Mapping[str, tuple[Membership, ...]] = field(default_factory=dict)
    shipped: TeamShipments | None = None

    def is_member(self, identity_id: str | None, at: datetime) -> bool:
        """`member_at` in Python, for rows already read; always true outside a team scope."""
        if self.team_ids is None:
            return True
        return any(
            start <= at and (end is None or at < end)
            for start, end in self.members.get(identity_id or "", ())
        )

    def deployment_filter(self) -> ColumnElement[bool]:
        if self.team_ids is not None:
            return or_(self._owned_by_team(), self._ships_team_change())
        by_repo = _in(Deployment.repository_id, self.repository_ids)
        if self.service_ids is None:
            return by_repo
        by_service = Deployment.service_id.in_(self.service_ids)
        if self.scope.service:
            # Untagged deployments count when the service spans their repository whole.
            return or_(by_service, and_(Deployment.service_id.is_(None), by_repo))
        return or_(by_service, by_repo)

    def change_filter(self) -> ColumnElement[bool]:
        """Which commits are changes of this scope (applied on top of the deployment filter)."""
        if self.team_ids is not None:
            return self.member_at(Commit.author_identity_id, Commit.authored_at)
        if not self.service_paths:
            return true()
        return or_(*(_touches(path) for path in self.service_paths))

    def repository_filter(self, column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
        """Rows of `column` (a repository id) in scope; a team scope leaves this to `member_at`."""
        return _in(column, self.repository_ids)

    def member_at(
        self, identity: InstrumentedAttribute[Any], at: InstrumentedAttribute[Any]
    ) -> ColumnElement[bool]:
        """The identity in `identity` belonged to a person in the team at the time `at`.

        Always true outside a team scope, so callers can apply it unconditionally.
        """
        if self.team_ids is None:
            return true()
        member = (
            select(literal(1))
            .select_from(Identity)
            .join(TeamMembership, TeamMembership.person_id == Identity.person_id)
            .where(
                Identity.id == identity,
                TeamMembership.team_id.in_(self.team_ids),
                TeamMembership.valid_from <= at,
                or_(TeamMembership.valid_to.is_(None), TeamMembership.valid_to > at),
            )
        )
        return exists(member)

    def _owned_by_team(self) -> ColumnElement[bool]:
        assert self.team_ids is not None
        owned_repos = select(Repository.id).where(Repository.owning_team_id.in_(self.team_ids))
        owned_services = select(Service.id).where(Service.owning_team_id.in_(self.team_ids))
        return or_(
            Deployment.repository_id.in_(owned_repos), Deployment.service_id.in_(owned_services)
        )

    def _ships_team_change(self) -> ColumnElement[bool]:
        if self.shipped is None:
            return self.ships_team_change_in_silver()
        ships = Deployment.id.in_(self.shipped.ids)
        if self.shipped.stale is None:
            return ships
        in_silver = and_(
            Deployment.repository_id.in_(self.shipped.stale), self.ships_team_change_in_silver()
        )
        return or_(ships, in_silver)

    def ships_team_change_in_silver(self) -> ColumnElement[bool]:
        """A deployed commit of the deployment was written by a member at the time."""
        shipped = (
            select(literal(1))
            .select_from(DeploymentCommit)
            .join(Commit, Commit.id == DeploymentCommit.commit_id)
            .where(
                DeploymentCommit.deployment_id == Deployment.id,
                self.member_at(Commit.author_identity_id, Commit.authored_at),
            )
        )
        return exists(shipped)


def _in(column: InstrumentedAttribute[Any], ids: tuple[str, ...] | None) -> ColumnElement[bool]:
    if ids is None:
        return true()
    return column.in_(ids) if ids else false()


def _touches(path: ServicePath) -> ColumnElement[bool]:
    if not path.path_prefix:
        return Commit.repository_id == path.repository_id
    prefix = path.path_prefix.rstrip("/") + "/"
    touched = select(literal(1)).where(
        CommitFile.commit_id == Commit.id,
        CommitFile.path.startswith(prefix, autoescape=True),
    )
    return and_(Commit.repository_id == path.repository_id, exists(touched))


def resolve_scope(session: Session, scope: Scope) -> ResolvedScope:
    """Names to ids; an unknown name raises `NotFoundError` naming the known ones."""
    org_id = _organization_id(session, scope.org) if scope.org else None
    if scope.repo:
        return ResolvedScope(scope, repository_ids=_repository_ids(session, scope.repo, org_id))
    if scope.service:
        return _service_scope(session, scope, org_id)
    if scope.team:
        team_ids = _team_ids(session, scope.team, org_id)
        members = _members(session, team_ids)
        return ResolvedScope(scope, team_ids=team_ids, members=members)
    if org_id is None:
        return ResolvedScope(scope)
    repos = session.scalars(select(Repository.id).where(Repository.organization_id == org_id))
    services = session.scalars(select(Service.id).where(Service.organization_id == org_id))
    return ResolvedScope(scope, repository_ids=tuple(sorted(repos)), service_ids=tuple(services))


def scope_repository_ids(session: Session, resolved: ResolvedScope) -> tuple[str, ...] | None:
    """The repositories a scope covers (None: all): for a team, those it or its services own;
    for a service, every repository it spans, whole or by path."""
    if resolved.team_ids is not None:
        owned_services = select(Service.id).where(Service.owning_team_id.in_(resolved.team_ids))
        query = select(Repository.id).where(
            or_(
                Repository.owning_team_id.in_(resolved.team_ids),
                Repository.id.in_(
                    select(ServiceRepository.repository_id).where(
                        ServiceRepository.service_id.in_(owned_services)
                    )
                ),
            )
        )
        return tuple(sorted(session.scalars(query)))
    paths = tuple(path.repository_id for path in resolved.service_paths)
    if resolved.repository_ids is None:
        return None
    return tuple(sorted({*resolved.repository_ids, *paths}))


def _organization_id(session: Session, name: str) -> str:
    found = session.scalar(select(Organization.id).where(Organization.name == name))
    if found is None:
        raise NotFoundError(_unknown(session, "organisation", name, Organization.name), org=name)
    return found


def _repository_ids(session: Session, name: str, org_id: str | None) -> tuple[str, ...]:
    query = select(Repository.id).where(Repository.name == name)
    if org_id is not None:
        query = query.where(Repository.organization_id == org_id)
    ids = session.scalars(query).all()
    if not ids:
        raise NotFoundError(_unknown(session, "repository", name, Repository.name), repo=name)
    # One name may be known through several providers (git, github): the scope is all of them.
    return tuple(sorted(ids))


def _service_scope(session: Session, scope: Scope, org_id: str | None) -> ResolvedScope:
    assert scope.service is not None
    query = select(Service.id).where(Service.name == scope.service)
    if org_id is not None:
        query = query.where(Service.organization_id == org_id)
    ids = tuple(sorted(session.scalars(query)))
    if not ids:
        message = _unknown(session, "service", scope.service, Service.name)
        raise NotFoundError(message, service=scope.service)
    links = session.execute(
        select(ServiceRepository.repository_id, ServiceRepository.path_prefix).where(
            ServiceRepository.service_id.in_(ids)
        )
    ).all()
    whole = tuple(sorted({repo for repo, prefix in links if not prefix}))
    paths = tuple(ServicePath(repo, prefix) for repo, prefix in sorted(links) if prefix)
    return ResolvedScope(scope, repository_ids=whole, service_ids=ids, service_paths=paths)


def _team_ids(session: Session, name: str, org_id: str | None) -> tuple[str, ...]:
    """The named team(s) and every team nested under them."""
    query = select(Team.id).where(Team.name == name)
    if org_id is not None:
        query = query.where(Team.organization_id == org_id)
    found = set(session.scalars(query))
    if not found:
        raise NotFoundError(_unknown(session, "team", name, Team.name), team=name)
    parents = {team: parent for team, parent in session.execute(select(Team.id, Team.parent_id))}
    return tuple(sorted(team for team in parents if _descends(team, found, parents)))


def _members(session: Session, team_ids: tuple[str, ...]) -> dict[str, tuple[Membership, ...]]:
    query = (
        select(Identity.id, TeamMembership.valid_from, TeamMembership.valid_to)
        .join(TeamMembership, TeamMembership.person_id == Identity.person_id)
        .where(TeamMembership.team_id.in_(team_ids))
    )
    found: dict[str, list[Membership]] = defaultdict(list)
    for identity_id, start, end in session.execute(query):
        found[identity_id].append((start, end))
    return {identity_id: tuple(spans) for identity_id, spans in found.items()}


def _descends(team: str, roots: set[str], parents: dict[str, str | None]) -> bool:
    seen: set[str] = set()
    current: str | None = team
    while current is not None and current not in seen:  # a parent cycle is data, not a hang
        if current in roots:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def _unknown(session: Session, kind: str, name: str, column: InstrumentedAttribute[str]) -> str:
    names = sorted(set(session.scalars(select(column)).all()))
    if not names:
        return f"unknown {kind} {name!r}: the database has no {PLURALS[kind]} yet"
    shown = ", ".join(names[:KNOWN_NAMES_SHOWN])
    more = f" and {len(names) - KNOWN_NAMES_SHOWN} more" if len(names) > KNOWN_NAMES_SHOWN else ""
    return f"unknown {kind} {name!r}; known: {shown}{more}"


def environment_pattern(pattern: str) -> re.Pattern[str]:
    """The production-environment regex, searched case-insensitively ("Production" is prod)."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise InputError(
            f"production environment pattern {pattern!r} is not a valid regular expression: {exc}",
            pattern=pattern,
        ) from exc


def production_environments(
    session: Session, resolved: ResolvedScope, pattern: re.Pattern[str]
) -> tuple[str, ...]:
    """Environment names in scope that match `pattern`; queries then filter with plain IN.

    The names come from every deployment, and the scope's filter (a team's is a correlated
    EXISTS per deployment) is asked once per matching name and stops at its first deployment,
    instead of running over the whole history.
    """
    names = session.scalars(select(Deployment.environment).distinct()).all()
    matching = sorted(name for name in names if pattern.search(name))
    return tuple(
        name
        for name in matching
        if session.scalar(
            select(exists().where(Deployment.environment == name, resolved.deployment_filter()))
        )
    )

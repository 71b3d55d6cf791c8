"""What a report covers: one repository by name, or the whole organisation (every repository)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from diogen.errors import InputError, NotFoundError
from diogen.silver import Deployment, Repository

KNOWN_NAMES_SHOWN = 20


@dataclass(frozen=True)
class Scope:
    """`Scope()` is the whole organisation; `Scope(repo="flask")` one repository."""

    repo: str | None = None

    def to_json(self) -> dict[str, str | None]:
        # {"org": null} reads as "no organisation filter": every repository in the database.
        return {"repo": self.repo} if self.repo is not None else {"org": None}


@dataclass(frozen=True)
class ResolvedScope:
    """The scope as repository ids; None means every deployment, with or without a repository."""

    scope: Scope
    repository_ids: tuple[str, ...] | None

    def deployment_filter(self) -> ColumnElement[bool]:
        if self.repository_ids is None:
            return true()
        return Deployment.repository_id.in_(self.repository_ids)


def resolve_scope(session: Session, scope: Scope) -> ResolvedScope:
    if scope.repo is None:
        return ResolvedScope(scope, None)
    ids = session.scalars(select(Repository.id).where(Repository.name == scope.repo)).all()
    if not ids:
        raise NotFoundError(_unknown_repository(session, scope.repo), repo=scope.repo)
    # One name may be known through several providers (git, github): the scope is all of them.
    return ResolvedScope(scope, tuple(sorted(ids)))


def _unknown_repository(session: Session, name: str) -> str:
    names = sorted(set(session.scalars(select(Repository.name)).all()))
    if not names:
        return f"unknown repository {name!r}: the database has no repositories yet"
    shown = ", ".join(names[:KNOWN_NAMES_SHOWN])
    more = f" and {len(names) - KNOWN_NAMES_SHOWN} more" if len(names) > KNOWN_NAMES_SHOWN else ""
    return f"unknown repository {name!r}; known: {shown}{more}"


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
    """Environment names in scope that match `pattern`; queries then filter with plain IN."""
    names = session.scalars(
        select(Deployment.environment).where(resolved.deployment_filter()).distinct()
    ).all()
    return tuple(sorted(name for name in names if pattern.search(name)))

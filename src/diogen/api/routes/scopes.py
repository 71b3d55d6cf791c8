"""Turning analytics parameters into a `diogen.metrics.Scope` the principal may read.

Reports are asked for by names (org, team, repo, service), as on the command line. Members of
organisations get reports confined to one of theirs: the one they name, or their only one.
Only an instance administrator may ask for a report over every organisation (no org).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.api.access import Principal
from diogen.api.routes.common import missing
from diogen.errors import InputError
from diogen.metrics import Scope
from diogen.silver import Organization


def _organization(session: Session, principal: Principal, org: str | None) -> Organization | None:
    """The named organisation, or the principal's only one; None for "every organisation"."""
    if org is not None:
        found = session.scalar(select(Organization).where(Organization.name == org))
        if found is None:
            raise missing("organization", org)
        principal.require(found.id, "viewer", missing("organization", org))
        return found
    if principal.everywhere is not None:
        return None
    if len(principal.roles) != 1:
        raise InputError("you belong to several organisations (or none): name one with org=")
    return session.get(Organization, next(iter(principal.roles)))


def analytics_scope(
    session: Session,
    principal: Principal,
    *,
    org: str | None = None,
    team: str | None = None,
    repo: str | None = None,
    service: str | None = None,
) -> Scope:
    """The scope; unknown names inside it are the metrics' own 404s."""
    organization = _organization(session, principal, org)
    return Scope(
        org=organization.name if organization else None, team=team, repo=repo, service=service
    )

"""Turning analytics parameters into a `diogen.metrics.Scope` the principal may read.

Reports are asked for by names (org, team, repo, service), as on the command line. Members of
organisations get reports confined to one of theirs: the one they name, or their only one.
Only an instance administrator may ask for a report over every organisation (no org).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from diogen.api.access import Principal
from diogen.api.routes.common import missing
from diogen.errors import InputError
from diogen.metrics import Scope
from diogen.silver import Organization, Team
from diogen.silver.base import table_of


def _organization(session: Session, principal: Principal, org: str | None) -> str | None:
    """The named organisation, or the principal's only one; None for "every organisation"."""
    if org is not None:
        if org in principal.organization_names.values():
            return org  # one of the principal's own, named as read with its roles
        found = session.scalar(_ID_OF_NAME, {"name": org})
        if found is None:
            raise missing("organization", org)
        principal.require(found, "viewer", missing("organization", org))
        return org
    if principal.everywhere is not None:
        return None
    if len(principal.roles) != 1:
        raise InputError("you belong to several organisations (or none): name one with org=")
    only = next(iter(principal.roles))
    name = principal.organization_names.get(only) or session.scalar(_NAME_OF_ID, {"id": only})
    if name is None:  # deleted since the principal was read: never "every organisation"
        raise missing("organization", only)
    return name


def team_scope(session: Session, principal: Principal, team_id: str) -> Scope:
    """The scope of one team the principal may read (404 otherwise), in one query."""
    row = session.execute(_TEAM, {"id": team_id}).first()
    if row is None:
        raise missing("team", team_id)
    principal.require(row.organization_id, "viewer", missing("team", team_id))
    return Scope(org=row.org_name, team=row.name)


# Built once: every analytics request resolves its organisation or team.
_ORGANIZATION, _TEAMS = table_of(Organization), table_of(Team)
_ID_OF_NAME = select(_ORGANIZATION.c.id).where(_ORGANIZATION.c.name == bindparam("name"))
_NAME_OF_ID = select(_ORGANIZATION.c.name).where(_ORGANIZATION.c.id == bindparam("id"))
_TEAM = (
    select(_TEAMS.c.organization_id, _TEAMS.c.name, _ORGANIZATION.c.name.label("org_name"))
    .select_from(_TEAMS.outerjoin(_ORGANIZATION, _ORGANIZATION.c.id == _TEAMS.c.organization_id))
    .where(_TEAMS.c.id == bindparam("id"))
)


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
    return Scope(org=_organization(session, principal, org), team=team, repo=repo, service=service)

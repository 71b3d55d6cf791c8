"""A team's deployments found from its members, in gold (`gold_deployment_author`).

A deployment belongs to a team when it shipped a change a member wrote while a member (or the
team owns its repository or service, `scope.ResolvedScope`). Asked of silver, that is a walk
over every deployed commit of every deployment in question; gold keeps, per deployment and
author, the first and last authored times of what it shipped, so the team's members' rows
answer it: a member at the first or the last of those times shipped a member's change. Only
a membership that began strictly between them leaves it open, and silver is asked about
those few deployments. Repositories whose gold is stale are left to silver entirely.

The memberships are tested in SQL: a team's rows over its whole history are tens of
thousands, and reading them into Python (two timestamps each) cost four times the query.
One deployment comes back once, with whether a membership covered one of its rows; the
others came back only for a membership that began between their first and last commit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from diogen.metrics.gold import freshness
from diogen.metrics.queries import id_list
from diogen.metrics.scope import ResolvedScope, TeamShipments
from diogen.silver import Deployment, Identity, TeamMembership
from diogen.silver.gold import GoldDeploymentAuthor


def with_team_shipments(session: Session, resolved: ResolvedScope) -> ResolvedScope:
    """`resolved` with the team's shipping deployments read from gold (other scopes as they
    are)."""
    if resolved.team_ids is None:
        return resolved
    stale = freshness(session).stale
    authors = GoldDeploymentAuthor
    covered = or_(_during(authors.first_at), _during(authors.last_at))
    joined_between = and_(
        authors.first_at < TeamMembership.valid_from, TeamMembership.valid_from < authors.last_at
    )
    # A join, not an EXISTS per membership test: both planners then read each author row
    # with its memberships once (PostgreSQL ran the three EXISTS as subplans per row).
    query = (
        select(authors.deployment_id, func.max(case((covered, 1), else_=0)))
        .join(Identity, Identity.id == authors.author_identity_id)
        .join(TeamMembership, TeamMembership.person_id == Identity.person_id)
        .where(
            TeamMembership.team_id.in_(resolved.team_ids),
            authors.author_identity_id.in_(id_list(session, resolved.members)),
            or_(covered, joined_between),
        )
        .group_by(authors.deployment_id)
    )
    if stale:
        query = query.where(authors.repository_id.not_in(id_list(session, stale)))
    shipped: set[str] = set()
    unsure: set[str] = set()
    for deployment_id, sure in session.connection().execute(query):
        (shipped if sure else unsure).add(deployment_id)
    if unsure:
        asked = select(Deployment.id).where(
            Deployment.id.in_(id_list(session, unsure)), resolved.ships_team_change_in_silver()
        )
        shipped.update(session.scalars(asked))
    found = TeamShipments(id_list(session, shipped), id_list(session, stale) if stale else None)
    return replace(resolved, shipped=found)


def _during(moment: InstrumentedAttribute[datetime]) -> ColumnElement[bool]:
    return and_(
        TeamMembership.valid_from <= moment,
        or_(TeamMembership.valid_to.is_(None), moment < TeamMembership.valid_to),
    )

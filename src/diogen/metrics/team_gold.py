"""A team's deployments found from its members, in gold (`gold_deployment_author`).

A deployment belongs to a team when it shipped a change a member wrote while a member (or the
team owns its repository or service, `scope.ResolvedScope`). Asked of silver, that is a walk
over every deployed commit of every deployment in question; gold keeps, per deployment and
author, the first and last authored times of what it shipped, so the team's members' rows
answer it: a member at the first or the last of those times shipped a member's change. Only
a membership that began strictly between them leaves it open, and silver is asked about
those few deployments. Repositories whose gold is stale are left to silver entirely.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.metrics.gold import freshness
from diogen.metrics.queries import id_list
from diogen.metrics.scope import Membership, ResolvedScope, TeamShipments
from diogen.silver import Deployment
from diogen.silver.gold import GoldDeploymentAuthor


def with_team_shipments(session: Session, resolved: ResolvedScope) -> ResolvedScope:
    """`resolved` with the team's shipping deployments read from gold (other scopes as they
    are)."""
    if resolved.team_ids is None:
        return resolved
    stale = freshness(session).stale
    authors = GoldDeploymentAuthor
    query = select(
        authors.deployment_id, authors.author_identity_id, authors.first_at, authors.last_at
    ).where(authors.author_identity_id.in_(id_list(session, resolved.members)))
    if stale:
        query = query.where(authors.repository_id.not_in(id_list(session, stale)))
    shipped: set[str] = set()
    unsure: set[str] = set()
    # Core, not the ORM: a team's rows over its whole history, tens of thousands.
    rows = session.connection().execute(query).all()
    for deployment_id, identity_id, first_at, last_at in rows:
        verdict = _shipped_by_member(resolved.members[identity_id], first_at, last_at)
        if verdict is None:
            unsure.add(deployment_id)
        elif verdict:
            shipped.add(deployment_id)
    unsure -= shipped
    if unsure:
        asked = select(Deployment.id).where(
            Deployment.id.in_(id_list(session, unsure)), resolved.ships_team_change_in_silver()
        )
        shipped.update(session.scalars(asked))
    found = TeamShipments(id_list(session, shipped), id_list(session, stale) if stale else None)
    return replace(resolved, shipped=found)


def _shipped_by_member(
    memberships: Iterable[Membership], first_at: datetime, last_at: datetime
) -> bool | None:
    """Whether the author was a member when writing one of the commits written between
    `first_at` and `last_at` (both commit times): True, False, or None when only the commits
    in between can tell."""
    open_question = False
    for start, end in memberships:
        for moment in (first_at, last_at):
            if start <= moment and (end is None or moment < end):
                return True
        open_question = open_question or first_at < start < last_at
    return None if open_question else False

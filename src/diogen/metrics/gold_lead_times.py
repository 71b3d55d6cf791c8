"""Lead times read from gold's precomputed rows: one narrow row per counted change.

`gold_shipments` marks each change's first production deployment (for the default rules) and
notes there its lead time and stages. A change counts in a report when that deployment is
one of the report's counted deployments, it is not a merge commit, its lead time is known and
not negative, and, in a team scope, its author was a member when writing it: the rules of
`changes.classify_changes` and `pulls.fold_pull_requests`, decided ahead of the report.

One case needs the general way: a change whose first production deployment lies outside the
scope (a team's pull request first shipped only through other people's commits). Its first
deployment in scope is a later one, which only the general way finds; `gold_lead_times`
then answers None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, select, true
from sqlalchemy.orm import Session, aliased

from diogen.metrics.changes import Stages
from diogen.metrics.lead_times import LeadTimes, hours, stage_hours
from diogen.metrics.queries import id_list, in_scope_among
from diogen.metrics.scope import ResolvedScope, Scope
from diogen.metrics.sql_hints import IndexedBy, not_an_index
from diogen.silver.gold import PULL_REQUEST, SHIPPED_AGAIN_INDEX, GoldChange


def gold_lead_times(
    session: Session, scope: ResolvedScope, counted: Mapping[str, datetime]
) -> LeadTimes | None:
    """The lead times of the changes the `counted` deployments (id → finish) count, or None
    when one of their changes first shipped outside the scope."""
    deployments = id_list(session, counted)
    if not _first_shipments_in_scope(session, scope, deployments):
        return None
    gold = GoldChange
    query = _changes_of(session, scope, deployments).add_columns(
        gold.deployment_id,
        gold.kind,
        gold.lead_time_us,
        *(gold.coding_us, gold.pickup_us, gold.review_us, gold.deploy_us),
    )
    query = query.where(gold.production_first == true(), gold.lead_time_us >= 0)
    lead_hours: list[float] = []
    deployed_at: list[datetime] = []
    stages: list[Stages] = []
    pull_requests = 0
    # One loop over plain tuples: tens of thousands of changes in a large report.
    for deployment_id, kind, lead_time_us, *stage_us in session.connection().execute(query):
        lead_hours.append(hours(lead_time_us))
        deployed_at.append(counted[deployment_id])
        pull_requests += kind == PULL_REQUEST
        if stage_us[0] is not None:
            stages.append(stage_hours(*stage_us))
    return LeadTimes(
        hours=lead_hours,
        deployed_at=deployed_at,
        pull_requests=pull_requests,
        commits=len(lead_hours) - pull_requests,
        stages=stages,
    )


def gold_hotfixes(session: Session, recent: Select[Any]) -> set[str]:
    """The `recent` deployments that shipped a pull request the default hotfix rule marks."""
    gold = GoldChange
    # Not by the primary key, whose rows of every recent deployment SQLite would read (it plans
    # without statistics): by the small partial index of hotfix rows (25 -> 7 ms for a year).
    query = select(gold.deployment_id).where(
        not_an_index(gold.deployment_id).in_(recent),
        gold.kind == PULL_REQUEST,
        gold.hotfix == true(),
    )
    return set(session.scalars(query.distinct()))


def _changes_of(
    session: Session, scope: ResolvedScope, deployments: Select[Any], gold: Any = GoldChange
) -> Select[Any]:
    """The rows of the deployments' changes (in `gold`, `GoldChange` or an alias of it) that
    can count: no merge commit; in a team scope only those its members wrote while members
    (tested in SQL: no timestamp is read)."""
    query = select().where(gold.deployment_id.in_(deployments), gold.is_merge.is_(False))
    if scope.team_ids is None:
        return query
    # Not by the index's second column: SQLite would try every member with every deployment.
    members = not_an_index(gold.author_identity_id).in_(id_list(session, scope.members))
    return query.where(members, scope.member_at(gold.author_identity_id, gold.author_at))


def _first_shipments_in_scope(
    session: Session, scope: ResolvedScope, deployments: Select[Any]
) -> bool:
    """Whether every change the deployments shipped again first reached production in scope
    (always, for the whole organisation: every deployment is in it)."""
    if scope.scope == Scope():
        return True
    # The few rows shipped again, from their partial index (SQLite would take the primary
    # key and read every change of the deployments: 55 -> 4 ms for a team's year).
    again = aliased(GoldChange, IndexedBy.of(GoldChange.__table__, SHIPPED_AGAIN_INDEX))
    rows = _changes_of(session, scope, deployments, again).add_columns(again.change_id)
    changes = set(session.scalars(rows.where(again.production_first == false())))
    if not changes:
        return True
    gold = GoldChange
    firsts = select(gold.deployment_id).where(
        gold.change_id.in_(id_list(session, changes)), gold.production_first == true()
    )
    first_ids = set(session.scalars(firsts))
    in_scope = set(session.scalars(in_scope_among(scope, id_list(session, first_ids))))
    return first_ids <= in_scope

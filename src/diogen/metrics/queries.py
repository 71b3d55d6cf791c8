"""The silver reads behind a DORA report: a handful of set-based queries, never one per row.

"Counted" deployments (successful, production, finished in the window, in scope) are expressed
once as a SQL subquery that the change, fixer and incident queries join against, so nothing
scales with the number of deployments on the Python side.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    Text,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from diogen.metrics.scope import ResolvedScope
from diogen.metrics.sql_hints import not_an_index
from diogen.metrics.window import Window
from diogen.silver import Commit, Deployment, DeploymentCommit, Incident, Repository

SUCCESS = "success"


@dataclass(frozen=True)
class DeploymentRecord:
    id: str
    repository_id: str | None
    service_id: str | None
    environment: str
    sha: str
    ref_name: str | None
    status: str
    source: str
    started_at: datetime | None
    finished_at: datetime | None
    is_rollback: bool
    marked_failed: bool | None
    fixes_deployment_id: str | None

    @property
    def stream(self) -> tuple[str | None, str | None, str]:
        """Deployments replace one another within a repository/service and environment."""
        return (self.repository_id, self.service_id, self.environment)


class ChangeRecord(NamedTuple):
    deployment_id: str
    commit_id: str
    sha: str
    repository_id: str
    authored_at: datetime
    is_merge: bool


_DEPLOYMENT_COLUMNS = (
    Deployment.id,
    Deployment.repository_id,
    Deployment.service_id,
    Deployment.environment,
    Deployment.sha,
    Deployment.ref_name,
    Deployment.status,
    Deployment.source,
    Deployment.started_at,
    Deployment.finished_at,
    Deployment.is_rollback,
    Deployment.marked_failed,
    Deployment.fixes_deployment_id,
)


def _deployments(session: Session, *conditions: ColumnElement[bool]) -> list[DeploymentRecord]:
    query = select(*_DEPLOYMENT_COLUMNS).where(*conditions)
    rows = session.execute(query.order_by(Deployment.finished_at, Deployment.id))
    return [DeploymentRecord(**row._asdict()) for row in rows]


def in_scope_among(scope: ResolvedScope, ids: Select[Any]) -> Select[str]:
    """The deployments of `ids` in scope, as a subquery the planners evaluate once.

    A team's filter is a correlated EXISTS over a deployment's commits: applied in a join it
    runs once per joined row (per deployed commit), here once per deployment.
    """
    return select(Deployment.id).where(Deployment.id.in_(ids), scope.deployment_filter())


def id_list(session: Session, ids: Collection[str]) -> Select[Any]:
    """`ids` as a one-column subquery bound as a single parameter (a JSON array on SQLite, an
    array on PostgreSQL), so a report can resolve a set once and reuse it in later statements
    without re-evaluating its filter (a team's is a correlated EXISTS per deployment), and
    without the bound-parameter limits a long IN list would hit."""
    values = sorted(ids)
    if session.get_bind().dialect.name == "postgresql":
        # One text, split by the server: psycopg dumps a list element by element in Python
        # (17 ms for 5,000 ids, several times a report). Ids never hold a comma.
        joined = ",".join(values)
        if values and joined.count(",") != len(values) - 1:
            raise ValueError("an id holds a comma")
        array = func.string_to_array(literal(joined, Text), literal(",", Text))
        unnested = func.unnest(array).table_valued("value")
        return select(unnested.render_derived().c.value)
    return select(func.json_each(json.dumps(values)).table_valued("value").c.value)


def counted_ids(scope: ResolvedScope, environments: tuple[str, ...], window: Window) -> Select[str]:
    return select(Deployment.id).where(
        scope.deployment_filter(),
        Deployment.status == SUCCESS,
        Deployment.environment.in_(environments),
        Deployment.finished_at >= window.start,
        Deployment.finished_at < window.end,
    )


def report_deployments(
    session: Session, scope: ResolvedScope, environments: tuple[str, ...], window: Window
) -> tuple[list[DeploymentRecord], list[DeploymentRecord]]:
    """(candidates, later production), both oldest first, in one statement: the scope's filter
    (a team's is a correlated EXISTS per deployment) is evaluated once for both.

    - candidates: deployments in scope that touch the window, started or finished within
      [from, to]. The closed upper end lists a deployment finishing exactly at `to`, so the
      evidence can say it was left out for being outside the window.
    - later production: successful production deployments finished at or after the window's
      start; what an unlinked rollback rolled back is the deployment before it in its stream.
    """
    touches = or_(
        Deployment.finished_at.between(window.start, window.end),
        Deployment.started_at.between(window.start, window.end),
    )
    production = and_(
        Deployment.status == SUCCESS,
        Deployment.environment.in_(environments),
        Deployment.finished_at >= window.start,
    )
    query = select(*_DEPLOYMENT_COLUMNS, as_flag(touches), as_flag(production)).where(
        scope.deployment_filter(), or_(touches, production)
    )
    rows = session.execute(query.order_by(Deployment.finished_at, Deployment.id))
    candidates: list[DeploymentRecord] = []
    later: list[DeploymentRecord] = []
    for *columns, touching, producing in rows:
        record = DeploymentRecord(*columns)
        if touching:
            candidates.append(record)
        if producing:
            later.append(record)
    return candidates, later


def as_flag(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """`condition` as a selected true/false column."""
    return case((condition, literal(True, Boolean)), else_=literal(False, Boolean))


def fixers(session: Session, counted: Select[str]) -> list[DeploymentRecord]:
    """Deployments (of any status) linked as fixing one of the counted deployments."""
    return _deployments(session, Deployment.fixes_deployment_id.in_(counted))


def redeploys(session: Session, recent: Select[Any]) -> set[str]:
    """Deployments of `recent` (the scope's successful production deployments since the
    window's start) whose sha an earlier one of their stream shipped.

    Git ancestry is already in `deployment_commit`: a deployment of an older sha ships nothing
    new, and the commit it points at was shipped by the deployment that first contained it.
    """
    earlier = aliased(Deployment)
    # A correlated EXISTS, so both planners walk the few recent deployments and look each one's
    # commit up by index, rather than scanning every deployed-commit link of the history.
    shipped_earlier = (
        select(literal(1))
        .select_from(Commit)
        .join(DeploymentCommit, DeploymentCommit.commit_id == Commit.id)
        .join(earlier, earlier.id == DeploymentCommit.deployment_id)
        .where(
            Commit.sha == Deployment.sha,
            Commit.repository_id == Deployment.repository_id,
            earlier.environment == Deployment.environment,
            earlier.finished_at < Deployment.finished_at,
            # Not by `ix_deployment_service_finished`: SQLite would walk a service's (or every
            # service-less) deployments per recent deployment instead of the commit's links.
            or_(
                not_an_index(earlier.service_id) == Deployment.service_id,
                and_(not_an_index(earlier.service_id).is_(None), Deployment.service_id.is_(None)),
            ),
        )
    )
    query = select(Deployment.id).where(Deployment.id.in_(recent), exists(shipped_earlier))
    return set(session.scalars(query))


def has_failure_data(session: Session, scope: ResolvedScope) -> bool:
    """Whether any source records failures: an incident anywhere, or a deployment in scope
    (any environment, any time) that a person judged, that is a rollback or that fixes another.

    Without such data a failure rate of 0 would be a claim nothing supports.
    """
    judged = select(Deployment.id).where(
        scope.deployment_filter(),
        or_(
            Deployment.marked_failed.is_not(None),
            Deployment.fixes_deployment_id.is_not(None),
            Deployment.is_rollback.is_(True),
        ),
    )
    return bool(session.scalar(select(or_(exists(select(Incident.id)), exists(judged)))))


def deployed_changes(
    session: Session, scope: ResolvedScope, counted: Select[str]
) -> list[ChangeRecord]:
    """Commits first shipped by the counted deployments that are changes of the scope."""
    query = (
        select(
            DeploymentCommit.deployment_id,
            Commit.id,
            Commit.sha,
            Commit.repository_id,
            Commit.authored_at,
            Commit.is_merge,
        )
        .join(Commit, Commit.id == DeploymentCommit.commit_id)
        .where(DeploymentCommit.deployment_id.in_(counted), scope.change_filter())
    )
    # Positional rows: this is the one query that grows with history (one row per commit).
    return [ChangeRecord(*row) for row in session.execute(query)]


def first_production_deploy(
    session: Session,
    scope: ResolvedScope,
    environments: tuple[str, ...],
    before: datetime,
    counted: Select[str],
) -> dict[str, datetime]:
    """When a production deployment first shipped each commit that several of them shipped.

    With several production environments (prod-eu, prod-us) one commit has a deployment_commit
    row per environment; a change is counted once, with the earliest. Commits shipped once (all
    of them with git alone) are left out of the answer: their only deployment is the first.
    Only the commits of the `counted` deployments are asked about (the report needs no other),
    so the query grows with the window, not with the history.
    """
    shipped = select(DeploymentCommit.commit_id).where(DeploymentCommit.deployment_id.in_(counted))
    production = (
        Deployment.status == SUCCESS,
        Deployment.environment.in_(environments),
        Deployment.finished_at < before,
    )
    reached = (
        select(DeploymentCommit.deployment_id)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .where(*production, DeploymentCommit.commit_id.in_(shipped))
    )
    query = (
        select(DeploymentCommit.commit_id, func.min(Deployment.finished_at))
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .where(
            Deployment.id.in_(in_scope_among(scope, reached)),
            *production,
            DeploymentCommit.commit_id.in_(shipped),
        )
        .group_by(DeploymentCommit.commit_id)
        .having(func.count() > 1)
    )
    return {commit_id: first for commit_id, first in session.execute(query) if first is not None}


def repository_names(session: Session) -> dict[str, str]:
    return {id_: name for id_, name in session.execute(select(Repository.id, Repository.name))}

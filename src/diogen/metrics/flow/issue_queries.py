"""The silver reads behind issue and sprint flow metrics: issues, their history, sprints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from diogen.metrics.flow.statuses import DONE_TEXTS, Transition, ordered
from diogen.metrics.queries import id_list
from diogen.metrics.scope import ResolvedScope
from diogen.metrics.window import Window
from diogen.silver import Issue, IssueStatusTransition, Sprint, SprintScopeChange


@dataclass(frozen=True)
class IssueRow:
    id: str
    key: str
    type: str | None
    status: str | None
    status_category: str | None
    story_points: float | None
    assignee_identity_id: str | None
    sprint_id: str | None
    created_at: datetime
    resolved_at: datetime | None
    url: str | None


@dataclass(frozen=True)
class SprintRow:
    id: str
    name: str
    board: str | None
    state: str | None
    planned_start: datetime | None
    planned_end: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    url: str | None


@dataclass(frozen=True)
class ScopeChange:
    sprint_id: str
    issue_id: str
    change: str
    story_points: float | None
    changed_at: datetime


_ISSUE_COLUMNS = (
    Issue.id,
    Issue.key,
    Issue.type,
    Issue.status,
    Issue.status_category,
    Issue.story_points,
    Issue.assignee_identity_id,
    Issue.sprint_id,
    Issue.created_at,
    Issue.resolved_at,
    Issue.url,
)
_SPRINT_COLUMNS = (
    Sprint.id,
    Sprint.name,
    Sprint.board,
    Sprint.state,
    Sprint.planned_start,
    Sprint.planned_end,
    Sprint.started_at,
    Sprint.completed_at,
    Sprint.url,
)


def in_scope(resolved: ResolvedScope) -> ColumnElement[bool]:
    """An issue belongs to a team when its assignee was a member when it was created."""
    return resolved.member_at(Issue.assignee_identity_id, Issue.created_at)


def finished_ids(resolved: ResolvedScope, window: Window) -> Select[str]:
    """Issues that may have finished in the window: resolved in it, or done without a date."""
    done_undated = and_(
        Issue.resolved_at.is_(None), func.lower(Issue.status_category).in_(DONE_TEXTS)
    )
    in_window = and_(Issue.resolved_at >= window.start, Issue.resolved_at < window.end)
    return select(Issue.id).where(in_scope(resolved), or_(in_window, done_undated))


def assignee_ids(ids: Select[str]) -> Select[str | None]:
    return select(Issue.assignee_identity_id).where(Issue.id.in_(ids))


def issues(session: Session, ids: Select[str]) -> list[IssueRow]:
    rows = session.execute(select(*_ISSUE_COLUMNS).where(Issue.id.in_(ids)))
    return [IssueRow(*row) for row in rows]


def histories(session: Session, ids: Select[str]) -> dict[str, list[Transition]]:
    """Each issue's status transitions, ordered (see `statuses.ordered`)."""
    query = select(
        IssueStatusTransition.issue_id,
        IssueStatusTransition.from_status,
        IssueStatusTransition.to_status,
        IssueStatusTransition.from_category,
        IssueStatusTransition.to_category,
        IssueStatusTransition.changed_at,
    ).where(IssueStatusTransition.issue_id.in_(ids))
    grouped: dict[str, list[Transition]] = defaultdict(list)
    for row in session.execute(query):
        grouped[row[0]].append(Transition(*row))
    return {issue_id: ordered(found) for issue_id, found in grouped.items()}


def sprints(session: Session, *conditions: ColumnElement[bool]) -> list[SprintRow]:
    rows = session.execute(select(*_SPRINT_COLUMNS).where(*conditions))
    return [SprintRow(*row) for row in rows]


def sprint_issue_ids(
    session: Session, resolved: ResolvedScope, sprint_ids: Select[str]
) -> Select[str]:
    """Issues in scope that were ever in one of the sprints, by scope history or sprint field,
    resolved once into an id list for the statements that follow.

    Two statements, not one over "in the history OR in the field": PostgreSQL planned that OR
    as a subplan per issue (a team's sprints of a year at scale 1 ran for over 15 minutes),
    and each following statement evaluated it again."""
    changed = select(SprintScopeChange.issue_id).where(SprintScopeChange.sprint_id.in_(sprint_ids))
    found = set(session.scalars(select(Issue.id).where(in_scope(resolved), Issue.id.in_(changed))))
    listed = select(Issue.id).where(in_scope(resolved), Issue.sprint_id.in_(sprint_ids))
    found.update(session.scalars(listed))
    return id_list(session, found)


def scope_changes(
    session: Session, sprint_ids: Select[str], issue_ids: Select[str]
) -> list[ScopeChange]:
    query = select(
        SprintScopeChange.sprint_id,
        SprintScopeChange.issue_id,
        SprintScopeChange.change,
        SprintScopeChange.story_points,
        SprintScopeChange.changed_at,
    ).where(SprintScopeChange.sprint_id.in_(sprint_ids), SprintScopeChange.issue_id.in_(issue_ids))
    return [ScopeChange(*row) for row in session.execute(query)]


def by_sprint(changes: Sequence[ScopeChange]) -> dict[str, list[ScopeChange]]:
    grouped: dict[str, list[ScopeChange]] = defaultdict(list)
    for change in changes:
        grouped[change.sprint_id].append(change)
    return grouped

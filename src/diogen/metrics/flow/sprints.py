"""Sprints loaded with every issue ever in them, their scope changes and status history.

A sprint runs from its actual start (else its planned start) to its completion (else its
planned end; else, while it runs, now). Issues assigned to a bot are set aside.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from diogen.errors import InputError, NotFoundError
from diogen.metrics.flow import issue_queries as q
from diogen.metrics.flow.actors import Actor, actor, load_actors
from diogen.metrics.flow.issue_queries import IssueRow, ScopeChange, SprintRow
from diogen.metrics.flow.sprint_scope import SprintIssue, change_order
from diogen.metrics.flow.statuses import Transition
from diogen.metrics.scope import ResolvedScope
from diogen.silver import Sprint

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KNOWN_SHOWN = 20


@dataclass(frozen=True)
class SprintData:
    sprint: SprintRow
    start: datetime | None
    end: datetime | None
    # The last instant the figures describe: the end, or now for a sprint still running;
    # None for a sprint that has not started.
    as_of: datetime | None
    issues: list[SprintIssue]
    bots: list[SprintIssue]

    @property
    def is_complete(self) -> bool:
        return self.sprint.completed_at is not None


def span(
    sprint: SprintRow, now: datetime
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(start, end, as of) of a sprint seen at `now`."""
    start = sprint.started_at or sprint.planned_start
    if start is None or (sprint.completed_at is None and start > now):
        return start, sprint.completed_at or sprint.planned_end, None
    if sprint.completed_at is not None:
        return start, sprint.completed_at, sprint.completed_at
    end = sprint.planned_end if sprint.planned_end is not None else now
    end = max(end, start)
    return start, end, min(end, now)


@dataclass(frozen=True)
class _Loaded:
    issues: dict[str, IssueRow]
    changes: dict[str, list[ScopeChange]]
    history: dict[str, list[Transition]]
    actors: dict[str, Actor]


def _items(sprint: SprintRow, start: datetime | None, loaded: _Loaded) -> list[SprintIssue]:
    per_issue: dict[str, list[ScopeChange]] = defaultdict(list)
    for change in loaded.changes.get(sprint.id, []):
        per_issue[change.issue_id].append(change)
    named = {i for i, row in loaded.issues.items() if row.sprint_id == sprint.id}
    items = []
    for issue_id in set(per_issue) | named:
        row = loaded.issues[issue_id]
        items.append(
            SprintIssue(
                row=row,
                assignee=actor(loaded.actors, row.assignee_identity_id),
                changes=tuple(sorted(per_issue[issue_id], key=change_order)),
                history=tuple(loaded.history.get(issue_id, [])),
                start=start,
            )
        )
    return sorted(items, key=lambda item: (item.row.key, item.row.id))


def load_sprints(
    session: Session,
    resolved: ResolvedScope,
    condition: ColumnElement[bool],
    bots: re.Pattern[str],
    now: datetime,
) -> list[SprintData]:
    """Seven queries whatever the number of sprints: the issue ids (two), then sprints, issues,
    changes, history, people."""
    sprint_ids = select(Sprint.id).where(condition)
    issue_ids = q.sprint_issue_ids(session, resolved, sprint_ids)
    sprints = q.sprints(session, condition)
    loaded = _Loaded(
        issues={row.id: row for row in q.issues(session, issue_ids)},
        changes=q.by_sprint(q.scope_changes(session, sprint_ids, issue_ids)),
        history=q.histories(session, issue_ids),
        actors=load_actors(session, bots, q.assignee_ids(issue_ids)),
    )
    result = []
    for sprint in sprints:
        start, end, as_of = span(sprint, now)
        items = _items(sprint, start, loaded)
        humans = [item for item in items if item.assignee.bot is None]
        bot_items = [item for item in items if item.assignee.bot is not None]
        result.append(SprintData(sprint, start, end, as_of, humans, bot_items))
    return sorted(result, key=_order)


def _order(data: SprintData) -> tuple[bool, datetime, str, str]:
    """Oldest end first, sprints without an end last."""
    return (data.end is None, data.end or EPOCH, data.sprint.name, data.sprint.id)


def find_sprint(session: Session, reference: str) -> ColumnElement[bool]:
    """The condition selecting the sprint with id `reference`, else the one of that name."""
    if session.scalar(select(Sprint.id).where(Sprint.id == reference)) is not None:
        return Sprint.id == reference
    named = q.sprints(session, Sprint.name == reference)
    if len(named) == 1:
        return Sprint.id == named[0].id
    if named:
        listed = ", ".join(f"{s.id} ({s.board or 'no board'})" for s in sorted(named, key=_id))
        raise InputError(
            f"{len(named)} sprints are called {reference!r}; give one id: {listed}",
            sprint=reference,
        )
    names = sorted(set(session.scalars(select(Sprint.name))))
    known = ", ".join(names[:KNOWN_SHOWN]) + (" …" if len(names) > KNOWN_SHOWN else "")
    message = (
        f"unknown sprint {reference!r}; known: {known}"
        if names
        else (f"unknown sprint {reference!r}: the database has no sprint yet")
    )
    raise NotFoundError(message, sprint=reference)


def _id(sprint: SprintRow) -> str:
    return sprint.id

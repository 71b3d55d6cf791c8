"""Issue flow: cycle time, lead time, time in status and flow efficiency of finished issues.

Definitions (docs/flow.md):
- an issue is done at its resolution time, or, without one, when it last entered a done
  category (its current category must be done); it counts in the window it is done in;
- lead time: created → done; cycle time: first move into a started category → done;
- time in status: the issue's life from creation to done, cut at each status transition;
- flow efficiency: of the cycle (started → done), the share spent active: in an in-progress
  category under a status whose name does not say it waits (`WAITING_STATUS_PATTERN`).
Issues assigned to a bot are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from diogen.metrics.flow import issue_queries as q
from diogen.metrics.flow.actors import Actor, actor, load_actors
from diogen.metrics.flow.common import hours_between
from diogen.metrics.flow.issue_deploys import first_deployments
from diogen.metrics.flow.issue_queries import IssueRow
from diogen.metrics.flow.statuses import (
    DONE,
    IN_PROGRESS,
    STARTED,
    Segment,
    Transition,
    category,
    segments,
)
from diogen.metrics.queries import id_list
from diogen.metrics.scope import ResolvedScope
from diogen.metrics.window import Window


@dataclass(frozen=True)
class IssueFacts:
    row: IssueRow
    assignee: Actor
    history: list[Transition]
    done_at: datetime | None
    started_at: datetime | None
    statuses: list[Segment]  # creation → done
    active_hours: float | None  # of the cycle; None without one
    waiting_hours: float | None
    # When a change linked to it first reached production (`issue_deploys`); None: not yet.
    deployed_at: datetime | None = None

    @property
    def lead_hours(self) -> float:
        assert self.done_at is not None
        return hours_between(self.row.created_at, self.done_at)

    @property
    def deployment_lead_hours(self) -> float | None:
        """Created → first production deployment of a linked change."""
        if self.deployed_at is None or self.deployed_at < self.row.created_at:
            return None
        return hours_between(self.row.created_at, self.deployed_at)

    @property
    def cycle_hours(self) -> float | None:
        if self.started_at is None or self.done_at is None or self.started_at > self.done_at:
            return None
        return hours_between(self.started_at, self.done_at)


@dataclass(frozen=True)
class IssueExclusion:
    facts: IssueFacts
    metric: str
    reason: str
    detail: str


def done_at(row: IssueRow, history: Sequence[Transition]) -> datetime | None:
    if row.resolved_at is not None:
        return row.resolved_at
    if category(row.status_category) != DONE:
        return None
    entered = None
    for transition in history:
        now_done = category(transition.to_category) == DONE
        if now_done and (entered is None or category(transition.from_category) != DONE):
            entered = transition.changed_at
        elif not now_done:
            entered = None
    return entered


def started_at(created: datetime, history: Sequence[Transition]) -> datetime | None:
    """The first move into a started category; a move logged before creation counts at it."""
    moved = next((t.changed_at for t in history if category(t.to_category) in STARTED), None)
    return None if moved is None else max(moved, created)


def is_active(segment: Segment, waiting: re.Pattern[str]) -> bool:
    return segment.category == IN_PROGRESS and not waiting.search(segment.status or "")


def _efficiency(
    lived: Sequence[Segment], start: datetime | None, end: datetime | None, waiting: re.Pattern[str]
) -> tuple[float | None, float | None]:
    if start is None or end is None or start > end:
        return None, None
    cycle = [piece for s in lived if (piece := s.clipped(start, end)) is not None]
    active = sum(s.hours for s in cycle if is_active(s, waiting))
    return active, sum(s.hours for s in cycle) - active


def issue_facts(
    row: IssueRow, history: list[Transition], assignee: Actor, waiting: re.Pattern[str]
) -> IssueFacts:
    done = done_at(row, history)
    start = started_at(row.created_at, history)
    lived = segments(row.created_at, done, history) if done is not None else []
    active, idle = _efficiency(lived, start, done, waiting)
    return IssueFacts(row, assignee, history, done, start, lived, active, idle)


def exclusions(facts: IssueFacts) -> list[IssueExclusion]:
    """Why the issue is left out, per metric ("all" for every issue metric)."""
    row, done = facts.row, facts.done_at
    if facts.assignee.bot is not None:
        return [IssueExclusion(facts, "all", "bot_assignee", facts.assignee.bot)]
    if done is None:
        detail = f"status {row.status!r} is done but no resolution or transition time says when"
        return [IssueExclusion(facts, "all", "done_time_unknown", detail)]
    if done < row.created_at:
        return [IssueExclusion(facts, "all", "done_before_created", "resolved before created")]
    if not facts.history:
        detail = "the tracker sent no status transitions for it"
        return [
            IssueExclusion(facts, metric, "no_status_history", detail)
            for metric in ("cycle_time", "time_in_status", "flow_efficiency")
        ]
    if facts.started_at is None or facts.started_at > done:
        reason, detail = (
            ("never_started", "never moved to an in-progress category")
            if facts.started_at is None
            else ("started_after_done", "first moved to in progress after it was done")
        )
        return [IssueExclusion(facts, m, reason, detail) for m in ("cycle_time", "flow_efficiency")]
    return []


@dataclass(frozen=True)
class IssueData:
    window: Window
    done: list[IssueFacts]  # finished in the window and counted, by done time
    excluded: list[IssueExclusion]

    def cycled(self) -> list[IssueFacts]:
        """Counted issues that also have a cycle (cycle time, flow efficiency)."""
        return [f for f in self.done if f.active_hours is not None]

    def with_history(self) -> list[IssueFacts]:
        return [f for f in self.done if f.statuses]


def load_issues(
    session: Session,
    resolved: ResolvedScope,
    window: Window,
    bots: re.Pattern[str],
    waiting: re.Pattern[str],
    production: re.Pattern[str] | None = None,
) -> IssueData:
    """Four queries: finished issues, their transitions, their assignees, their first
    production deployments."""
    rows = q.issues(session, q.finished_ids(resolved, window))
    # Resolved once: the three statements that follow do not evaluate the scope's filter again.
    ids = id_list(session, {row.id for row in rows})
    history = q.histories(session, ids)
    actors = load_actors(session, bots, q.assignee_ids(ids))
    deployed = first_deployments(session, ids, production)
    done, excluded = [], []
    for row in rows:
        facts = issue_facts(
            row, history.get(row.id, []), actor(actors, row.assignee_identity_id), waiting
        )
        facts = replace(facts, deployed_at=deployed.get(row.id))
        if facts.done_at is not None and not window.contains(facts.done_at):
            continue
        problems = exclusions(facts)
        excluded.extend(problems)
        if not any(p.metric == "all" for p in problems):
            done.append(facts)
    done.sort(key=lambda f: (f.done_at, f.row.key))
    excluded.sort(key=lambda e: (e.facts.row.key, e.metric))
    return IssueData(window, done, excluded)

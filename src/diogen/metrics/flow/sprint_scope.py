"""A sprint's scope over time, rebuilt from its scope-change history and issue status history.

- An issue is in the sprint at an instant when its latest scope change at or before it is
  `added` (an `added` and a `removed` at the same instant leave it in). An issue that names
  the sprint (`issue.sprint_id`) but has no scope change for it is in from the sprint's start.
- Its points at an instant are those recorded with its latest `added` change at or before it,
  else the issue's current story points; unestimated issues count 0 points.
- It is done at an instant when its status category then is done (from its transitions; from
  its resolution time when the history says nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from diogen.metrics.flow.actors import Actor
from diogen.metrics.flow.issue_queries import IssueRow, ScopeChange
from diogen.metrics.flow.statuses import DONE, Transition, category_at

ADDED = "added"
REMOVED = "removed"


def change_order(change: ScopeChange) -> tuple[datetime, bool]:
    return change.changed_at, change.change == ADDED


@dataclass(frozen=True)
class SprintIssue:
    row: IssueRow
    assignee: Actor
    changes: tuple[ScopeChange, ...]  # this sprint's, in `change_order`
    history: tuple[Transition, ...]
    start: datetime | None  # the sprint's start, for issues known through `issue.sprint_id` only

    @property
    def from_field(self) -> bool:
        return not self.changes

    def _last(self, moment: datetime, kinds: tuple[str, ...]) -> ScopeChange | None:
        found = None
        for change in self.changes:
            if change.changed_at > moment:
                break
            if change.change in kinds:
                found = change
        return found

    def in_scope(self, moment: datetime) -> bool:
        if self.from_field:
            return self.start is not None and moment >= self.start
        last = self._last(moment, (ADDED, REMOVED))
        return last is not None and last.change == ADDED

    def points(self, moment: datetime) -> float | None:
        added = self._last(moment, (ADDED,))
        if added is not None and added.story_points is not None:
            return added.story_points
        return self.row.story_points

    def removed_points(self, moment: datetime) -> float | None:
        removed = self._last(moment, (REMOVED,))
        if removed is not None and removed.story_points is not None:
            return removed.story_points
        return self.points(moment)

    def done(self, moment: datetime) -> bool:
        known = category_at(moment, self.history) if self.history else None
        if known is None:
            resolved = self.row.resolved_at
            return resolved is not None and resolved <= moment
        return known == DONE

    def added_between(self, start: datetime, end: datetime) -> datetime | None:
        """The first time it was added after `start`, up to `end`."""
        return next(
            (
                c.changed_at
                for c in self.changes
                if c.change == ADDED and start < c.changed_at <= end
            ),
            None,
        )

    def removed_between(self, start: datetime, end: datetime) -> datetime | None:
        """The last time it was removed after `start`, up to `end`, if it ended out of scope."""
        if self.in_scope(end):
            return None
        removed = [c.changed_at for c in self.changes if c.change == REMOVED]
        return next((at for at in reversed(removed) if start < at <= end), None)


def tally(items: list[SprintIssue], moment: datetime) -> tuple[int, float]:
    return len(items), sum(item.points(moment) or 0.0 for item in items)

"""Issue status history: status categories, and an issue's life cut into time per status.

Trackers name their categories differently; the flow metrics use four:
- `todo`: not started (Jira `new`/"To Do", Linear `backlog`/`unstarted`/`triage`);
- `in_progress`: being worked on (Jira `indeterminate`/"In Progress", Linear `started`);
- `waiting`: started but waiting (`waiting`, `blocked`, `on_hold`, as some connectors write);
- `done`: finished, including cancelled (Jira `done`, Linear `completed`/`canceled`).
Anything else is unknown (None). Category names are compared case-insensitively, ignoring
spaces, dashes and underscores.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from diogen.errors import InputError

TODO = "todo"
IN_PROGRESS = "in_progress"
WAITING = "waiting"
DONE = "done"
CATEGORIES = {
    TODO: ("todo", "new", "backlog", "unstarted", "triage", "open"),
    IN_PROGRESS: ("inprogress", "indeterminate", "inflight", "started", "doing", "active"),
    WAITING: ("waiting", "blocked", "onhold", "paused"),
    DONE: ("done", "completed", "complete", "closed", "resolved", "canceled", "cancelled"),
}
_BY_NAME = {name: category for category, names in CATEGORIES.items() for name in names}
# Raw category texts (lower case) that mean done, for the SQL that finds finished issues.
DONE_TEXTS = ("done", "completed", "complete", "closed", "resolved", "canceled", "cancelled")
STARTED = frozenset({IN_PROGRESS, WAITING})
# In-progress statuses whose name says the work waits (searched case-insensitively).
WAITING_STATUS_PATTERN = r"block|wait|hold|pause|queue|ready for"


def category(raw: str | None) -> str | None:
    if raw is None:
        return None
    return _BY_NAME.get(re.sub(r"[\s_-]+", "", raw.lower()))


def waiting_rule(pattern: str = WAITING_STATUS_PATTERN) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise InputError(
            f"waiting status pattern {pattern!r} is not a valid regular expression: {exc}",
            pattern=pattern,
        ) from exc


@dataclass(frozen=True)
class Transition:
    issue_id: str
    from_status: str | None
    to_status: str
    from_category: str | None
    to_category: str | None
    changed_at: datetime


@dataclass(frozen=True)
class Segment:
    """The issue sat in `status` (of `category`, normalised) from `start` to `end`."""

    status: str | None
    category: str | None
    start: datetime
    end: datetime

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def clipped(self, start: datetime, end: datetime) -> Segment | None:
        low, high = max(self.start, start), min(self.end, end)
        return Segment(self.status, self.category, low, high) if low < high else None


def ordered(transitions: Iterable[Transition]) -> list[Transition]:
    """Oldest first; transitions at the same instant follow their chain (A→B before B→C).

    A chain starts from the status the issue was in before the instant when one of the tied
    transitions leaves it; other ties are ordered by status names, so the order never depends
    on the order rows were stored in.
    """
    by_time: dict[datetime, list[Transition]] = defaultdict(list)
    for transition in transitions:
        by_time[transition.changed_at].append(transition)
    result: list[Transition] = []
    current: str | None = None
    for moment in sorted(by_time):
        tied = sorted(by_time[moment], key=lambda t: (t.to_status, t.from_status or ""))
        chain = _chain(tied, current) if len(tied) > 1 else tied
        result.extend(chain)
        current = chain[-1].to_status
    return result


def _chain(tied: list[Transition], current: str | None) -> list[Transition]:
    targets = {t.to_status for t in tied}
    head = next(
        (t for t in tied if current is not None and t.from_status == current),
        next((t for t in tied if t.from_status not in targets), tied[0]),
    )
    chain, rest = [head], [t for t in tied if t is not head]
    while rest:
        follow = next((t for t in rest if t.from_status == chain[-1].to_status), rest[0])
        chain.append(follow)
        rest.remove(follow)
    return chain


def segments(created: datetime, until: datetime, history: Sequence[Transition]) -> list[Segment]:
    """The issue's life from `created` to `until` cut at each transition (history ordered).

    The status before the first transition is that transition's `from` status. Transitions
    outside the span only move the cut to its edge, so the segments always add up to the span.
    """
    if not history or until <= created:
        return []
    cuts = [created, *(min(max(t.changed_at, created), until) for t in history), until]
    states = [(history[0].from_status, history[0].from_category)]
    states += [(t.to_status, t.to_category) for t in history]
    pieces = zip(states, cuts[:-1], cuts[1:], strict=True)
    return [
        Segment(status, category(raw), start, end)
        for (status, raw), start, end in pieces
        if start < end
    ]


def category_at(moment: datetime, history: Sequence[Transition]) -> str | None:
    """The normalised category after the last transition at or before `moment`."""
    current = history[0].from_category if history else None
    for transition in history:
        if transition.changed_at > moment:
            break
        current = transition.to_category
    return category(current)

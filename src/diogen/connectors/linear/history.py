"""An issue's cycle membership and estimate over time, rebuilt from its Linear history.

Linear's history may not record the values an issue was created with, so the state at
creation is the current state with every later change undone: the first cycle change's
`fromCycleId` (else the current cycle) and the first estimate change's `fromEstimate` (else
the current estimate). From there each cycle change removes the issue from the cycle it left
and adds it to the one it entered, with its estimate at that moment.

- A re-estimate while the issue is in a cycle that has not ended is another `added` change
  carrying the new points (the flow metrics take points from the latest `added` change).
- When a cycle completes, Linear moves its unfinished issues to the next cycle. Leaving a
  cycle at or after its end is that carry-over: the issue stays in the ended cycle's scope
  (no `removed` change), and is `added` to the next cycle at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diogen.connectors.trackers import parse_time

ADDED = "added"
REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class ScopeEvent:
    cycle: str  # Linear's cycle id
    change: str
    points: float | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Entry:
    """One history entry, with its time parsed."""

    at: datetime
    node: Mapping[str, Any]

    @property
    def cycle_change(self) -> bool:
        before, after = self.node.get("fromCycleId"), self.node.get("toCycleId")
        return before != after and (before is not None or after is not None)

    @property
    def estimate_change(self) -> bool:
        before, after = self.node.get("fromEstimate"), self.node.get("toEstimate")
        return before != after and (before is not None or after is not None)

    @property
    def state_change(self) -> bool:
        after = self.node.get("toState") or {}
        before = self.node.get("fromState") or {}
        return bool(after.get("id")) and after.get("id") != before.get("id")


def entries(nodes: Sequence[Mapping[str, Any]]) -> list[Entry]:
    """History entries oldest first (ties: Linear's entry id)."""
    found = []
    for node in nodes:
        at = parse_time(node.get("createdAt"))
        if at is None:
            raise ValueError(f"Linear history entry {node.get('id')!r} has no createdAt")
        found.append(Entry(at, node))
    return sorted(found, key=lambda e: (e.at, str(e.node.get("id") or "")))


def _points(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class CycleHistory:
    """The inputs of one issue's rebuild; `ended` maps cycle ids to the end of a completed
    cycle (the earlier of its planned end and its completion)."""

    created: datetime
    current_cycle: str | None
    current_points: float | None
    ended: Mapping[str, datetime]

    def events(self, items: Sequence[Entry], *, from_creation: bool = True) -> list[ScopeEvent]:
        """Scope events of `items` (and, from creation, of the cycle it was created in)."""
        cycle_items = [e for e in items if e.cycle_change]
        point_items = [e for e in items if e.estimate_change]
        member = cycle_items[0].node.get("fromCycleId") if cycle_items else self.current_cycle
        estimate = (
            _points(point_items[0].node.get("fromEstimate")) if point_items else self.current_points
        )
        found: dict[tuple[str, str, datetime], ScopeEvent] = {}

        def emit(cycle: str, change: str, at: datetime) -> None:
            found[(cycle, change, at)] = ScopeEvent(cycle, change, estimate, at)

        if member and from_creation:
            emit(member, ADDED, self.created)
        for entry in items:
            # One entry may change both: the cycle left keeps the old estimate, the one
            # entered gets the new.
            changed = _points(entry.node.get("toEstimate")) if entry.estimate_change else estimate
            if entry.cycle_change:
                before, after = entry.node.get("fromCycleId"), entry.node.get("toCycleId")
                if before and not self._ended(before, entry.at):
                    emit(before, REMOVED, entry.at)
                estimate = changed
                if after:
                    emit(after, ADDED, entry.at)
                member = after
            elif entry.estimate_change:
                estimate = changed
                if member and not self._ended(member, entry.at):
                    emit(member, ADDED, entry.at)
        return sorted(found.values(), key=lambda e: (e.at, e.cycle, e.change))

    def _ended(self, cycle: str, at: datetime) -> bool:
        end = self.ended.get(cycle)
        return end is not None and at >= end

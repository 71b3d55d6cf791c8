"""An issue's sprint membership and estimate over time, rebuilt from its changelog.

Jira records no changelog entry for the values an issue was created with, so the state at
creation is the current state with every later change undone: the first Sprint change's
`from` ids (else the current sprints) and the first estimate change's `from` value (else the
current estimate). From there each Sprint change adds the issue to the sprints it gained and
removes it from those it lost, with its estimate at that moment.

A re-estimate while the issue is in a sprint is written as another `added` change carrying
the new points (the issue stays in): the flow metrics take an issue's points from its latest
`added` change, so committed points keep the estimate at the sprint's start and completed
points the estimate at its end. Re-estimates after a sprint completed leave that sprint alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diogen.connectors.trackers import parse_time

ADDED = "added"
REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A custom field as changelog items name it: by id on Cloud, by display name on Server."""

    id: str
    name: str

    def matches(self, item: Mapping[str, Any]) -> bool:
        if item.get("fieldId"):
            return bool(item["fieldId"] == self.id)
        return str(item.get("field", "")).lower() == self.name.lower()


@dataclass(frozen=True, slots=True)
class ScopeEvent:
    sprint: str  # Jira's sprint id
    change: str
    points: float | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Change:
    """One changelog item with the time and author of its history entry."""

    at: datetime
    author: dict[str, Any] | None
    item: Mapping[str, Any]


def changes(histories: Iterable[Mapping[str, Any]]) -> list[Change]:
    """Every item of every history, oldest first (ties: Jira's history id order)."""
    ordered = sorted(histories, key=lambda h: (parse_time(h["created"]), _number(h.get("id"))))
    return [
        Change(at, history.get("author"), item)
        for history in ordered
        if (at := parse_time(history["created"])) is not None
        for item in history.get("items") or []
    ]


def sprint_ids(value: Any) -> set[str]:
    """'12, 13' (a Sprint item's `from`/`to`) → {'12', '13'}."""
    if value is None:
        return set()
    return {part.strip() for part in str(value).split(",") if part.strip()}


def points(value: Any) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    return float(value)


def _item_points(item: Mapping[str, Any], side: str) -> float | None:
    text = item.get(f"{side}String")
    return points(text if text not in (None, "") else item.get(side))


@dataclass
class ScopeHistory:
    """The inputs of one issue's rebuild; `closed` maps sprint ids to their completion."""

    created: datetime
    current_sprints: set[str]
    current_points: float | None
    sprint_field: FieldRef | None
    points_field: FieldRef | None
    closed: Mapping[str, datetime]

    def events(self, items: Sequence[Change], *, from_creation: bool = True) -> list[ScopeEvent]:
        """Scope events of `items` (and, from creation, of the initial sprints)."""
        sprint_items = [c for c in items if self._is(self.sprint_field, c)]
        point_items = [c for c in items if self._is(self.points_field, c)]
        for change in sprint_items:
            for side in ("from", "to"):
                if change.item.get(side) is None and change.item.get(f"{side}String"):
                    raise ValueError(f"Sprint change at {change.at} names sprints without ids")
        member = (
            sprint_ids(sprint_items[0].item.get("from"))
            if sprint_items
            else set(self.current_sprints)
        )
        estimate = _item_points(point_items[0].item, "from") if point_items else self.current_points
        found: dict[tuple[str, str, datetime], ScopeEvent] = {}

        def emit(sprint: str, change: str, at: datetime) -> None:
            found[(sprint, change, at)] = ScopeEvent(sprint, change, estimate, at)

        if from_creation:
            for sprint in sorted(member):
                emit(sprint, ADDED, self.created)
        for change in items:
            if self._is(self.sprint_field, change):
                before, after = (
                    sprint_ids(change.item.get("from")),
                    sprint_ids(change.item.get("to")),
                )
                for sprint in sorted(before - after):
                    emit(sprint, REMOVED, change.at)
                for sprint in sorted(after - before):
                    emit(sprint, ADDED, change.at)
                member = after
            elif self._is(self.points_field, change):
                estimate = _item_points(change.item, "to")
                for sprint in sorted(member):
                    if sprint not in self.closed or change.at <= self.closed[sprint]:
                        emit(sprint, ADDED, change.at)
        return sorted(found.values(), key=lambda e: (e.at, e.sprint, e.change))

    @staticmethod
    def _is(field: FieldRef | None, change: Change) -> bool:
        return field is not None and field.matches(change.item)


def _number(value: Any) -> tuple[int, str]:
    text = str(value or "")
    return (int(text), text) if text.isdigit() else (0, text)

"""Small pieces every flow metric shares: durations, rounding, summaries and calendar buckets."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from diogen.metrics.stats import HOURS_DIGITS, median, percentile, rounded
from diogen.metrics.window import Bucket, Window, calendar_buckets, isoformat_z

POINTS_DIGITS = 2
T = TypeVar("T")


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def clamp_hours(start: datetime, end: datetime) -> float:
    """Hours from `start` to `end`, 0 when `end` comes first (out-of-order timestamps)."""
    return max(0.0, hours_between(start, end))


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else isoformat_z(moment)


def hours_json(value: float | None) -> float | None:
    return rounded(value, HOURS_DIGITS)


def points_json(value: float | None) -> float | None:
    return rounded(value, POINTS_DIGITS)


def share(part: float, whole: float) -> float | None:
    """part / whole as a rate (4 decimals) for float quantities; None when whole is 0."""
    return None if whole <= 0 else round(part / whole, 4)


def order_stats(values: Sequence[float], unit: str, digits: int = HOURS_DIGITS) -> dict[str, Any]:
    """`median_<unit>`, `p75_<unit>` and `p90_<unit>` of `values`; all null without samples."""
    return {
        f"median_{unit}": rounded(median(values), digits),
        f"p75_{unit}": rounded(percentile(values, 0.75), digits),
        f"p90_{unit}": rounded(percentile(values, 0.90), digits),
    }


def duration_summary(count_key: str, hours: Sequence[float]) -> dict[str, Any]:
    """The §5 duration shape: sample size, then median, p75 and p90 in hours."""
    return {count_key: len(hours), **order_stats(hours, "hours")}


class Buckets:
    """The calendar buckets of a window, and which one a moment inside the window falls in."""

    def __init__(self, window: Window, unit: Bucket) -> None:
        self.window = window
        self.unit = unit
        self.spans = calendar_buckets(window, unit)
        self._starts = [start for start, _ in self.spans]

    def index(self, moment: datetime) -> int:
        return bisect_right(self._starts, moment) - 1

    def group(self, items: Iterable[T], when: Callable[[T], datetime | None]) -> list[list[T]]:
        """`items` grouped by the bucket holding `when(item)`; items outside the window dropped."""
        grouped: list[list[T]] = [[] for _ in self.spans]
        for item in items:
            moment = when(item)
            if moment is not None and self.window.contains(moment):
                grouped[self.index(moment)].append(item)
        return grouped

    def heads(self) -> list[dict[str, Any]]:
        """start, end and `partial` (cut by the window's edge) of every bucket."""
        return [
            {
                "start": isoformat_z(start),
                "end": isoformat_z(end),
                "partial": start < self.window.start or end > self.window.end,
            }
            for start, end in self.spans
        ]

"""Order statistics for durations: median, p75 and p90 with linear interpolation.

The interpolation is numpy's default ("linear", type 7) and PostgreSQL's `percentile_cont`:
the q-th percentile of n sorted values sits at rank q * (n - 1), between the two values around
it. The median is the usual midpoint, the same thing at q = 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import floor

HOURS_DIGITS = 2
RATE_DIGITS = 4
PER_WEEK_DIGITS = 2


def _lerp(low: float, high: float, fraction: float) -> float:
    # Two formulas as numpy uses: each is exact at its own end, so results never step outside
    # [low, high] through rounding and p75 <= p90 holds for every input.
    if fraction < 0.5:
        return low + (high - low) * fraction
    return high - (high - low) * (1 - fraction)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-quantile (0 <= q <= 1) of `values`, linearly interpolated; None when empty."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be within [0, 1], not {q}")
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    below = floor(rank)
    above = min(below + 1, len(ordered) - 1)
    return _lerp(ordered[below], ordered[above], rank - below)


def median(values: Sequence[float]) -> float | None:
    """The middle value, or the mean of the two middle values for an even count."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def ratio(part: int, whole: int) -> float | None:
    """part / whole rounded as rates are reported; None when there is nothing to divide by."""
    return None if whole == 0 else round(part / whole, RATE_DIGITS)


@dataclass(frozen=True)
class DurationSummary:
    """Sample size and order statistics of durations in hours, unrounded."""

    count: int
    median: float | None
    p75: float | None
    p90: float | None

    def to_json(self, count_key: str) -> dict[str, int | float | None]:
        return {
            count_key: self.count,
            "median_hours": rounded(self.median, HOURS_DIGITS),
            "p75_hours": rounded(self.p75, HOURS_DIGITS),
            "p90_hours": rounded(self.p90, HOURS_DIGITS),
        }


def summarize_hours(hours: Sequence[float]) -> DurationSummary:
    ordered = sorted(hours)  # once: each statistic sorts what it is given
    return DurationSummary(
        count=len(ordered),
        median=median(ordered),
        p75=percentile(ordered, 0.75),
        p90=percentile(ordered, 0.90),
    )

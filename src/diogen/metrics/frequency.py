"""Deployment frequency from deployment times: pure arithmetic over a window.

Weekly medians use the Monday-00:00 weeks lying wholly inside the window (the same weeks
`--bucket week` shows); partial weeks at either edge are left out of the medians, because a
two-day stub would count as a week with few deployments. Their deployments still count in the
totals. 30-day periods run back to back from the window's start; a shorter remainder is left out.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from diogen.metrics.stats import PER_WEEK_DIGITS, median
from diogen.metrics.tiers import Benchmarks, FrequencyFacts, frequency_tier
from diogen.metrics.window import WEEK, Window, full_periods, full_weeks

MONTH_DAYS = 30
SIX_MONTH_DAYS = 180


@dataclass(frozen=True)
class DeploymentFrequency:
    """Unrounded figures; `to_json` rounds them as the report does."""

    deployments: int
    per_week: float
    deploy_days: int
    weeks: int
    facts: FrequencyFacts

    def to_json(self, table: Benchmarks) -> dict[str, int | float | str | None]:
        return {
            "deployments": self.deployments,
            "per_week": round(self.per_week, PER_WEEK_DIGITS),
            "deploy_days": self.deploy_days,
            "median_weekly_deployments": self.facts.median_weekly_deployments,
            "median_weekly_deploy_days": self.facts.median_weekly_deploy_days,
            "median_30_day_deployments": self.facts.median_30_day_deployments,
            "weeks": self.weeks,
            "tier": frequency_tier(self.facts, table),
        }


def _in_span(ordered: Sequence[datetime], start: datetime, end: datetime) -> list[datetime]:
    return list(ordered[bisect_left(ordered, start) : bisect_left(ordered, end)])


def _distinct_days(times: Sequence[datetime]) -> int:
    return len({moment.date() for moment in times})


def deployment_frequency(times: Sequence[datetime], window: Window) -> DeploymentFrequency:
    """Frequency of deployments happening at `times` (all inside `window`)."""
    ordered = sorted(times)
    weeks = [_in_span(ordered, start, start + WEEK) for start in full_weeks(window)]
    month = timedelta(days=MONTH_DAYS)
    months = [_in_span(ordered, s, s + month) for s in full_periods(window, MONTH_DAYS)]
    facts = FrequencyFacts(
        deployments=len(ordered),
        median_weekly_deploy_days=median([_distinct_days(week) for week in weeks]),
        median_weekly_deployments=median([len(week) for week in weeks]),
        median_30_day_deployments=median([len(period) for period in months]),
        deployments_per_180_days=len(ordered) / (window.days / SIX_MONTH_DAYS),
    )
    return DeploymentFrequency(
        deployments=len(ordered),
        per_week=len(ordered) / window.weeks,
        deploy_days=_distinct_days(ordered),
        weeks=len(weeks),
        facts=facts,
    )

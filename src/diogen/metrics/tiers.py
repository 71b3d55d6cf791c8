"""DORA performance tiers per report year (docs/metrics.md gives each report's own figures).

Every table uses one rule: tiers are tried best first and a value gets the first tier whose
bound it meets; the last tier (low) takes everything else. So a value in a gap between two of a
report's ranges gets the worse tier (it does not meet the better one's bound) and where ranges
overlap it gets the better one. "A month" is 30 days and "six months" 180 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from diogen.errors import InputError

Tier = Literal["elite", "high", "medium", "low"]
TIERS: tuple[str, ...] = get_args(Tier)
BenchmarkYear = Literal["2023", "2024", "2021"]
BENCHMARK_YEARS: tuple[str, ...] = get_args(BenchmarkYear)
FrequencyMeasure = Literal[
    "median_weekly_deploy_days",
    "median_weekly_deployments",
    "median_30_day_deployments",
    "deployments_per_180_days",
]

HOUR = 1.0
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = 30 * DAY
SIX_MONTHS = 180 * DAY


@dataclass(frozen=True)
class FrequencyFacts:
    """What the deployment-frequency tiers look at; None where the window has no such period."""

    deployments: int
    median_weekly_deploy_days: float | None
    median_weekly_deployments: float | None
    median_30_day_deployments: float | None
    deployments_per_180_days: float


@dataclass(frozen=True)
class Benchmarks:
    """One report's table. Bounds are listed best tier first; `low` is implicit."""

    year: str
    # (tier, measure, minimum): the tier when the measure is at least the minimum.
    frequency: tuple[tuple[Tier, FrequencyMeasure, float], ...]
    # (tier, bound): the tier when the median is strictly below the bound, in hours.
    lead_time_hours: tuple[tuple[Tier, float], ...]
    # (tier, bound): the tier when the rate is at most the bound.
    failure_rate: tuple[tuple[Tier, float], ...]
    # (tier, bound): the tier when the median is strictly below the bound, in hours.
    recovery_hours: tuple[tuple[Tier, float], ...]


_ON_DEMAND: tuple[Tier, FrequencyMeasure, float] = ("elite", "median_weekly_deploy_days", 5)

TABLES: dict[str, Benchmarks] = {
    "2023": Benchmarks(
        year="2023",
        frequency=(
            _ON_DEMAND,
            ("high", "median_weekly_deployments", 1),
            ("medium", "median_30_day_deployments", 1),
        ),
        lead_time_hours=(("elite", DAY), ("high", WEEK), ("medium", MONTH)),
        failure_rate=(("elite", 0.05), ("high", 0.10), ("medium", 0.15)),
        recovery_hours=(("elite", HOUR), ("high", DAY), ("medium", WEEK)),
    ),
    "2024": Benchmarks(
        year="2024",
        frequency=(
            _ON_DEMAND,
            ("high", "median_weekly_deployments", 1),
            ("medium", "median_30_day_deployments", 1),
        ),
        lead_time_hours=(("elite", DAY), ("high", WEEK), ("medium", MONTH)),
        # The report's medium figure (10 %) is below high's (20 %): medium is never reached.
        failure_rate=(("elite", 0.05), ("high", 0.20), ("medium", 0.10)),
        # High and medium are both "less than one day": medium is never reached.
        recovery_hours=(("elite", HOUR), ("high", DAY), ("medium", DAY)),
    ),
    "2021": Benchmarks(
        year="2021",
        frequency=(
            _ON_DEMAND,
            ("high", "median_30_day_deployments", 1),
            ("medium", "deployments_per_180_days", 1),
        ),
        lead_time_hours=(("elite", HOUR), ("high", WEEK), ("medium", SIX_MONTHS)),
        # High, medium and low share 16-30 %: medium is never reached.
        failure_rate=(("elite", 0.15), ("high", 0.30), ("medium", 0.30)),
        recovery_hours=(("elite", HOUR), ("high", DAY), ("medium", WEEK)),
    ),
}


def benchmark_table(year: str) -> Benchmarks:
    try:
        return TABLES[year]
    except KeyError:
        raise InputError(
            f"unknown benchmarks {year!r}: use one of {', '.join(BENCHMARK_YEARS)}", year=year
        ) from None


def _below(value: float | None, bounds: Sequence[tuple[Tier, float]]) -> Tier | None:
    if value is None:
        return None
    return next((tier for tier, bound in bounds if value < bound), "low")


def lead_time_tier(median_hours: float | None, table: Benchmarks) -> Tier | None:
    return _below(median_hours, table.lead_time_hours)


def recovery_tier(median_hours: float | None, table: Benchmarks) -> Tier | None:
    return _below(median_hours, table.recovery_hours)


def failure_rate_tier(rate: float | None, table: Benchmarks) -> Tier | None:
    if rate is None:
        return None
    return next((tier for tier, bound in table.failure_rate if rate <= bound), "low")


def frequency_tier(facts: FrequencyFacts, table: Benchmarks) -> Tier | None:
    """None without deployments, or when a check the rule reaches has no period to look at."""
    if facts.deployments == 0:
        return None
    for tier, measure, minimum in table.frequency:
        value: float | None = getattr(facts, measure)
        if value is None:
            return None
        if value >= minimum:
            return tier
    return "low"

"""Invariants of the metric arithmetic, checked with generated inputs (no database)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from diogen.metrics import BENCHMARK_YEARS, TIERS, Window, median, percentile
from diogen.metrics.buckets import bucket_rows
from diogen.metrics.failures import Verdict
from diogen.metrics.frequency import deployment_frequency
from diogen.metrics.lead_times import LeadTimes
from diogen.metrics.queries import DeploymentRecord
from diogen.metrics.tiers import (
    FrequencyFacts,
    benchmark_table,
    failure_rate_tier,
    frequency_tier,
    lead_time_tier,
    recovery_tier,
)

hours = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
samples = st.lists(hours, min_size=1, max_size=60)
years = st.sampled_from(BENCHMARK_YEARS)


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 3_000_000)))
    return Window(start, start + timedelta(minutes=draw(st.integers(1, 200 * 1440))))


@st.composite
def deployments_in(draw: st.DrawFn) -> tuple[Window, list[datetime]]:
    window = draw(windows())
    span = int((window.end - window.start).total_seconds()) - 1
    offsets = draw(st.lists(st.integers(0, span), max_size=80))
    return window, [window.start + timedelta(seconds=offset) for offset in offsets]


@given(samples)
def test_median_lies_between_min_and_max(values: list[float]) -> None:
    middle = median(values)
    assert middle is not None
    assert min(values) <= middle <= max(values)


@given(samples)
def test_p75_never_exceeds_p90(values: list[float]) -> None:
    p50, p75, p90 = (percentile(values, q) for q in (0.5, 0.75, 0.9))
    assert p50 is not None and p75 is not None and p90 is not None
    assert min(values) <= p50 <= p75 <= p90 <= max(values)


@given(st.lists(hours, min_size=2, max_size=60))
def test_percentiles_agree_with_inclusive_quantiles(values: list[float]) -> None:
    # statistics' "inclusive" method is the same linear interpolation (numpy's default).
    quartiles = statistics.quantiles(values, n=4, method="inclusive")
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    tolerance = 1e-9 * max(1.0, max(values))
    assert abs(percentile(values, 0.75) - quartiles[2]) <= tolerance  # type: ignore[operator]
    assert abs(percentile(values, 0.9) - deciles[8]) <= tolerance  # type: ignore[operator]
    assert abs(median(values) - statistics.median(values)) <= tolerance  # type: ignore[operator]


@given(deployments_in())
def test_per_week_times_weeks_is_deployments(case: tuple[Window, list[datetime]]) -> None:
    window, times = case
    frequency = deployment_frequency(times, window)
    assert abs(frequency.per_week * window.weeks - len(times)) < 1e-6
    assert frequency.deploy_days <= frequency.deployments


def _verdict(index: int, finished: datetime) -> Verdict:
    record = DeploymentRecord(
        id=f"d{index}",
        repository_id="r",
        service_id=None,
        environment="production",
        sha="s",
        ref_name=None,
        status="success",
        source="test",
        started_at=None,
        finished_at=finished,
        is_rollback=False,
        marked_failed=index % 3 == 0,
        fixes_deployment_id=None,
    )
    return Verdict(record, (), bool(record.marked_failed), None)


@given(deployments_in(), st.sampled_from(["day", "week", "month"]))
def test_bucket_deployments_sum_to_total(case: tuple[Window, list[datetime]], unit: str) -> None:
    window, times = case
    verdicts = {f"d{i}": _verdict(i, t) for i, t in enumerate(times)}
    rows = bucket_rows(window, unit, verdicts, LeadTimes.of([]))  # type: ignore[arg-type]
    assert sum(row["deployments"] for row in rows) == len(times)
    assert sum(row["failed"] for row in rows) == sum(v.failed for v in verdicts.values())
    assert all(row["start"] < rows[i + 1]["start"] for i, row in enumerate(rows[:-1]))


@given(deployments_in())
def test_weekly_median_matches_the_full_week_buckets(case: tuple[Window, list[datetime]]) -> None:
    window, times = case
    verdicts = {f"d{i}": _verdict(i, t) for i, t in enumerate(times)}
    full = [
        row["deployments"]
        for row in bucket_rows(window, "week", verdicts, LeadTimes.of([]))
        if not row["partial"]
    ]
    frequency = deployment_frequency(times, window)
    assert frequency.weeks == len(full)
    assert frequency.facts.median_weekly_deployments == median(full)


def tier_rank(tier: str | None) -> int:
    """0 for elite to 3 for low; these inputs always have samples, so always a tier."""
    assert tier is not None
    return TIERS.index(tier)


def _ordered(a: float, b: float) -> tuple[float, float]:
    return (a, b) if a <= b else (b, a)


@given(hours, hours, years)
def test_duration_tiers_are_monotone(a: float, b: float, year: str) -> None:
    faster, slower = _ordered(a, b)
    table = benchmark_table(year)
    for tier in (lead_time_tier, recovery_tier):
        assert tier_rank(tier(faster, table)) <= tier_rank(tier(slower, table))


@given(st.floats(0, 1), st.floats(0, 1), years)
def test_failure_rate_tiers_are_monotone(a: float, b: float, year: str) -> None:
    better, worse = _ordered(a, b)
    table = benchmark_table(year)
    assert tier_rank(failure_rate_tier(better, table)) <= tier_rank(failure_rate_tier(worse, table))


counts = st.integers(0, 50).map(float)


@given(st.lists(counts, min_size=4, max_size=4), st.lists(counts, min_size=4, max_size=4), years)
def test_frequency_tiers_are_monotone(low: list[float], extra: list[float], year: str) -> None:
    slower = FrequencyFacts(1, *low)
    faster = FrequencyFacts(1, *(x + y for x, y in zip(low, extra, strict=True)))
    table = benchmark_table(year)
    assert tier_rank(frequency_tier(faster, table)) <= tier_rank(frequency_tier(slower, table))

"""Statistics, windows and tiers by hand-computed examples."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta, timezone

import pytest
from test_metrics_support import utc

from diogen.config import PRODUCTION_ENVIRONMENT_PATTERN, Settings
from diogen.errors import InputError
from diogen.metrics import (
    DEFAULT_PRODUCTION_ENVIRONMENT,
    Window,
    default_window,
    dora_report,
    make_window,
    median,
    parse_date,
    percentile,
)
from diogen.metrics.frequency import deployment_frequency
from diogen.metrics.tiers import (
    FrequencyFacts,
    benchmark_table,
    failure_rate_tier,
    frequency_tier,
    lead_time_tier,
    recovery_tier,
)
from diogen.metrics.window import LATEST, calendar_buckets, full_periods, full_weeks


def test_percentiles_interpolate_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    # rank 0.75 * 3 = 2.25 -> 3 + 0.25 * 1; rank 0.9 * 3 = 2.7 -> 3 + 0.7 * 1.
    assert percentile(values, 0.75) == 3.25
    assert percentile(values, 0.9) == pytest.approx(3.7)
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 4.0
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError):
        percentile(values, 1.5)


def test_median_is_the_midpoint() -> None:
    assert median([5.0, 1.0, 3.0]) == 3.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([7.0]) == 7.0
    assert median([]) is None


def test_parse_date_accepts_dates_and_iso_datetimes() -> None:
    assert parse_date("2024-01-31") == datetime(2024, 1, 31, tzinfo=UTC)
    assert parse_date("2024-01-31T12:30:00Z") == datetime(2024, 1, 31, 12, 30, tzinfo=UTC)
    # No offset means UTC; an offset is converted.
    assert parse_date("2024-01-31T12:30") == datetime(2024, 1, 31, 12, 30, tzinfo=UTC)
    assert parse_date("2024-01-31T12:30+02:00") == datetime(2024, 1, 31, 10, 30, tzinfo=UTC)
    with pytest.raises(InputError, match=r"from: '31/01/2024' is not a date"):
        parse_date("31/01/2024", label="from")
    with pytest.raises(InputError):
        parse_date("2024-02-30")


def test_default_window_is_90_days_to_the_start_of_tomorrow() -> None:
    window = default_window(datetime(2024, 6, 12, 15, 45, tzinfo=UTC))
    assert window == Window(utc("2024-03-15"), utc("2024-06-13"))
    assert window.days == 90


def test_make_window_fills_in_missing_bounds() -> None:
    now = datetime(2024, 6, 12, 15, 45, tzinfo=UTC)
    assert make_window(None, "2024-04-01", now=now) == Window(utc("2024-01-02"), utc("2024-04-01"))
    assert make_window("2024-06-01", None, now=now) == Window(utc("2024-06-01"), utc("2024-06-13"))
    with pytest.raises(InputError, match="empty window"):
        make_window("2024-04-01", "2024-04-01", now=now)
    with pytest.raises(InputError, match="to: 'soon' is not a date"):
        make_window("2024-04-01", "soon", now=now)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (None, "9999-12-31", r"^to: '9999-12-31' is out of range: the latest date is 9999-01-01$"),
        ("9999-06-01", "9999-12-31", r"^to: '9999-12-31' is out of range"),
        ("9999-01-02", None, r"^from: '9999-01-02' is out of range"),
        ("2024-01-01", "9999-12-31T23:00:00-05:00", r"^to: .* is out of range"),
        ("0001-01-01T00:00:00+01:00", "2024-01-01", r"^from: .* is out of range"),
        (None, "0001-02-01", r"^to: '0001-02-01' is out of range: the 90 days before it begin"),
    ],
)
def test_dates_past_the_calendar_are_input_errors(
    start: str | None, end: str | None, message: str
) -> None:
    now = datetime(2024, 6, 12, tzinfo=UTC)
    with pytest.raises(InputError, match=message) as error:
        make_window(start, end, now=now)
    assert "\n" not in str(error.value)


def test_the_latest_date_is_a_valid_end() -> None:
    window = make_window("9998-12-01", "9999-01-01")
    assert window.end == LATEST
    for unit in ("day", "week", "month"):
        last_start, last_end = calendar_buckets(window, unit)[-1]
        assert last_start < LATEST <= last_end  # a week bucket runs on to Monday 9999-01-04
    assert deployment_frequency([utc("9998-12-31T23:00")], window).deployments == 1
    # The default window of the last day before LATEST ends exactly there.
    assert default_window(datetime(9998, 12, 31, 12, tzinfo=UTC)).end == LATEST


@pytest.mark.parametrize(
    "now", [datetime(9999, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)]
)
def test_default_window_near_the_end_of_the_calendar(now: datetime) -> None:
    with pytest.raises(InputError, match=r"^to: .* is out of range"):
        default_window(now)
    with pytest.raises(InputError, match=r"^to: .* is out of range"):
        make_window("9998-12-01", None, now=now)


def test_window_refuses_bounds_past_the_calendar() -> None:
    with pytest.raises(InputError, match=r"^to: 9999-12-31T00:00:00\+00:00 is out of range"):
        Window(utc("9998-01-01"), utc("9999-12-31"))
    plus_one = timezone(timedelta(hours=1))
    with pytest.raises(InputError, match=r"^from: .* is out of range"):
        Window(datetime(1, 1, 1, tzinfo=plus_one), utc("2024-01-01"))


def test_production_environment_default_is_defined_once() -> None:
    assert Settings.model_fields["production_environment"].default is PRODUCTION_ENVIRONMENT_PATTERN
    assert DEFAULT_PRODUCTION_ENVIRONMENT is PRODUCTION_ENVIRONMENT_PATTERN
    default = inspect.signature(dora_report).parameters["production_environment"].default
    assert default is PRODUCTION_ENVIRONMENT_PATTERN


def test_window_is_half_open() -> None:
    window = Window(utc("2024-01-01"), utc("2024-01-08"))
    assert window.contains(utc("2024-01-01"))
    assert not window.contains(utc("2024-01-08"))
    assert window.weeks == 1.0


def test_weeks_months_and_periods() -> None:
    # Wednesday 01-03 to Thursday 02-01: full Monday weeks 01-08, 01-15, 01-22 (01-29 would
    # end on 02-05, after `to`). 01-03 + 30 days = 02-02, after `to`: no full 30-day period.
    window = Window(utc("2024-01-03"), utc("2024-02-01"))
    assert full_weeks(window) == [utc("2024-01-08"), utc("2024-01-15"), utc("2024-01-22")]
    assert full_periods(window, 30) == []
    assert full_periods(Window(utc("2024-01-01"), utc("2024-03-01")), 30) == [
        utc("2024-01-01"),
        utc("2024-01-31"),
    ]
    months = calendar_buckets(Window(utc("2023-12-15"), utc("2024-01-15")), "month")
    assert months == [
        (utc("2023-12-01"), utc("2024-01-01")),
        (utc("2024-01-01"), utc("2024-02-01")),
    ]


def test_frequency_over_a_quarter() -> None:
    # 2024-01-01 (Mon) to 2024-04-01 (Mon): 91 days = 13 weeks; 30-day periods from 01-01:
    # 01-01, 01-31, 03-01 (the last day, 03-31, is a remainder and left out).
    window = Window(utc("2024-01-01"), utc("2024-04-01"))
    # Three deployments on Monday 01-01 and one each on 01-02, 01-03, 01-04, 01-05:
    # week 1 has 7 deployments on 5 days; later weeks: one deployment in week of 02-05.
    times = [utc("2024-01-01T09:00"), utc("2024-01-01T12:00"), utc("2024-01-01T18:00")]
    times += [utc(f"2024-01-0{day}T10:00") for day in range(2, 6)] + [utc("2024-02-06")]
    frequency = deployment_frequency(times, window)
    # 8 / 13 = 0.615...; 6 deploy days; weekly counts [7, 0, 0, 0, 0, 1, 0 ...] -> median 0.
    assert (frequency.deployments, frequency.deploy_days, frequency.weeks) == (8, 6, 13)
    assert frequency.per_week == pytest.approx(8 / 13)
    assert frequency.facts.median_weekly_deployments == 0.0
    # 30-day periods: [7, 1, 0] -> median 1 -> medium in 2023.
    assert frequency.facts.median_30_day_deployments == 1.0
    assert frequency_tier(frequency.facts, benchmark_table("2023")) == "medium"
    # 2021: high is "at least once per month" (median 30-day period >= 1).
    assert frequency_tier(frequency.facts, benchmark_table("2021")) == "high"


def _facts(
    days: float, weekly: float, monthly: float | None, per_180: float = 2.0
) -> FrequencyFacts:
    return FrequencyFacts(1, days, weekly, monthly, per_180)


@pytest.mark.parametrize(
    ("year", "facts", "tier"),
    [
        ("2023", _facts(5, 9, 30), "elite"),
        ("2023", _facts(4, 9, 30), "high"),
        ("2023", _facts(0, 0, 1), "medium"),
        ("2023", _facts(0, 0, 0), "low"),
        ("2023", _facts(0, 0, None), None),  # the window has no 30-day period to look at
        ("2024", _facts(5, 5, 20), "elite"),
        ("2024", _facts(1, 1, 4), "high"),
        ("2024", _facts(0, 0, 0.5), "low"),
        ("2021", _facts(3, 3, 12), "high"),
        ("2021", _facts(0, 0, 0, per_180=1.0), "medium"),
        ("2021", _facts(0, 0, 0, per_180=0.5), "low"),
    ],
)
def test_frequency_tiers(year: str, facts: FrequencyFacts, tier: str | None) -> None:
    assert frequency_tier(facts, benchmark_table(year)) == tier


def test_no_frequency_tier_without_deployments() -> None:
    assert frequency_tier(FrequencyFacts(0, 0, 0, 0, 0), benchmark_table("2023")) is None


@pytest.mark.parametrize(
    ("year", "hours", "tier"),
    [
        ("2023", 23.99, "elite"),
        ("2023", 24.0, "high"),
        ("2023", 167.99, "high"),
        ("2023", 168.0, "medium"),
        ("2023", 719.99, "medium"),
        ("2023", 720.0, "low"),
        ("2024", 24.0, "high"),
        ("2024", 720.0, "low"),
        ("2021", 0.99, "elite"),
        ("2021", 1.0, "high"),  # the 1 h - 1 day gap goes to high
        ("2021", 168.0, "medium"),  # the 1 week - 1 month gap goes to medium
        ("2021", 4319.99, "medium"),
        ("2021", 4320.0, "low"),
        ("2023", None, None),
    ],
)
def test_lead_time_tiers(year: str, hours: float | None, tier: str | None) -> None:
    assert lead_time_tier(hours, benchmark_table(year)) == tier


@pytest.mark.parametrize(
    ("year", "rate", "tier"),
    [
        ("2023", 0.05, "elite"),
        ("2023", 0.0501, "high"),
        ("2023", 0.10, "high"),
        ("2023", 0.15, "medium"),
        ("2023", 0.1501, "low"),
        ("2024", 0.05, "elite"),
        ("2024", 0.10, "high"),  # medium's 10 % is inside high's 20 %
        ("2024", 0.20, "high"),
        ("2024", 0.2001, "low"),
        ("2021", 0.15, "elite"),
        ("2021", 0.155, "high"),  # the 15-16 % gap goes to high
        ("2021", 0.30, "high"),
        ("2021", 0.3001, "low"),
        ("2023", None, None),
    ],
)
def test_failure_rate_tiers(year: str, rate: float | None, tier: str | None) -> None:
    assert failure_rate_tier(rate, benchmark_table(year)) == tier


@pytest.mark.parametrize(
    ("year", "hours", "tier"),
    [
        ("2023", 0.99, "elite"),
        ("2023", 1.0, "high"),
        ("2023", 24.0, "medium"),
        ("2023", 168.0, "low"),
        ("2024", 23.99, "high"),
        ("2024", 24.0, "low"),  # medium is also "< 1 day"; 1 day - 1 week is a gap
        ("2021", 24.0, "medium"),
        ("2021", 168.0, "low"),
    ],
)
def test_recovery_tiers(year: str, hours: float, tier: str) -> None:
    assert recovery_tier(hours, benchmark_table(year)) == tier

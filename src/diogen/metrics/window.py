"""Time windows `[from, to)` in UTC, calendar buckets and the periods frequency tiers look at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, cast, get_args

from diogen.errors import InputError

Bucket = Literal["day", "week", "month"]
BUCKETS: tuple[str, ...] = get_args(Bucket)
DEFAULT_WINDOW_DAYS = 90
WEEK = timedelta(days=7)
# The latest instant a window may end at. Reports compute past a window's end (the next day,
# week or month, a 180-day period from its start) and Python's calendar stops at 9999-12-31,
# so the last year is kept as headroom.
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
_LATEST_TEXT = "the latest date is 9999-01-01"


def isoformat_z(moment: datetime) -> str:
    """`2024-01-01T00:00:00Z`: UTC, with the Z suffix the JSON document uses."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _out_of_range(label: str, shown: str, why: str = _LATEST_TEXT) -> InputError:
    return InputError(f"{label}: {shown} is out of range: {why}", value=shown)


def _to_utc(moment: datetime, label: str, shown: str) -> datetime:
    """`moment` in UTC, which must not end after `LATEST`.

    Converting an instant at the very edge of the calendar to UTC can itself overflow.
    """
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise _out_of_range(label, shown, "it has no UTC equivalent in the calendar") from None
    if moment > LATEST:
        raise _out_of_range(label, shown)
    return moment


@dataclass(frozen=True)
class Window:
    """The half-open interval `[start, end)` of timezone-aware UTC instants, ending by `LATEST`."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InputError("window bounds must be timezone-aware", start=self.start, end=self.end)
        object.__setattr__(self, "start", _to_utc(self.start, "from", self.start.isoformat()))
        object.__setattr__(self, "end", _to_utc(self.end, "to", self.end.isoformat()))
        if self.start >= self.end:
            raise InputError(
                f"empty window: from ({isoformat_z(self.start)}) must be before "
                f"to ({isoformat_z(self.end)})",
                start=self.start,
                end=self.end,
            )

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    @property
    def weeks(self) -> float:
        return self.days / 7

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def to_json(self) -> dict[str, str]:
        return {"from": isoformat_z(self.start), "to": isoformat_z(self.end)}


def parse_date(text: str, *, label: str = "date") -> datetime:
    """`YYYY-MM-DD` (midnight UTC) or an ISO 8601 date-time (UTC when it names no offset).

    A date after `LATEST` is refused here, quoting the user's text, before any arithmetic.
    """
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{label}: {text!r} is not a date; use YYYY-MM-DD or an ISO 8601 date-time "
            "such as 2024-01-31T12:00:00Z",
            text=text,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _to_utc(moment, label, repr(text))


def start_of_next_day(now: datetime | None = None) -> datetime:
    moment = _to_utc(now or datetime.now(UTC), "to", "the start of tomorrow")
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if day >= LATEST:
        raise _out_of_range("to", f"the start of the day after {day.date().isoformat()}")
    return day + timedelta(days=1)


def _days_before(end: datetime, shown: str) -> datetime:
    """The default `from`, DEFAULT_WINDOW_DAYS before `end`: it may fall before year 1."""
    try:
        return end - timedelta(days=DEFAULT_WINDOW_DAYS)
    except OverflowError:
        why = f"the {DEFAULT_WINDOW_DAYS} days before it begin before year 1; give from as well"
        raise _out_of_range("to", shown, why) from None


def default_window(now: datetime | None = None) -> Window:
    """The 90 days ending at the start of the next UTC day, so today counts in full."""
    end = start_of_next_day(now)
    return Window(_days_before(end, isoformat_z(end)), end)


def make_window(start: str | None, end: str | None, *, now: datetime | None = None) -> Window:
    """A window from optional `--from`/`--to` texts.

    A missing `to` is the start of the next UTC day; a missing `from` is 90 days before `to`.
    """
    until = parse_date(end, label="to") if end else start_of_next_day(now)
    if start:
        since = parse_date(start, label="from")
    else:
        since = _days_before(until, repr(end) if end else isoformat_z(until))
    return Window(since, until)


def check_bucket(bucket: str | None) -> Bucket | None:
    if bucket is None or bucket in BUCKETS:
        return cast("Bucket | None", bucket)
    raise InputError(f"unknown bucket {bucket!r}: use one of {', '.join(BUCKETS)}", bucket=bucket)


def bucket_floor(moment: datetime, unit: Bucket) -> datetime:
    """The start of the calendar bucket holding `moment`: UTC midnight, Monday or the 1st."""
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def bucket_after(start: datetime, unit: Bucket) -> datetime:
    """The start of the bucket following the one starting at `start`."""
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + WEEK
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month, day=1)


def calendar_buckets(window: Window, unit: Bucket) -> list[tuple[datetime, datetime]]:
    """Every calendar bucket overlapping the window, as (start, end); edge ones may be partial."""
    spans = []
    start = bucket_floor(window.start, unit)
    while start < window.end:
        end = bucket_after(start, unit)
        spans.append((start, end))
        start = end
    return spans


def full_weeks(window: Window) -> list[datetime]:
    """Monday-00:00 weeks lying entirely inside the window; partial edge weeks are left out."""
    first = bucket_floor(window.start, "week")
    if first < window.start:
        first += WEEK
    weeks = []
    while first + WEEK <= window.end:
        weeks.append(first)
        first += WEEK
    return weeks


def full_periods(window: Window, days: int) -> list[datetime]:
    """Consecutive `days`-long periods from the window's start, dropping a shorter remainder."""
    length = timedelta(days=days)
    starts = []
    start = window.start
    while start + length <= window.end:
        starts.append(start)
        start += length
    return starts

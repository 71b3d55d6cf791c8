"""Pull-request flow figures as JSON: throughput, size, time to first review, review depth, WIP.

Which pull requests each figure counts (docs/flow.md):
- throughput, size and review depth: pull requests merged in the window;
- time to first review: pull requests whose first review falls in the window, measured from
  ready for review (or opening); a review before that counts as 0 h;
- work in progress and ageing: non-draft pull requests open at the report's instant (the
  window's end, or now if that is earlier), aged from their opening.
Pull requests opened by bots are left out of all of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from diogen.metrics.flow.common import (
    Buckets,
    clamp_hours,
    duration_summary,
    hours_between,
    hours_json,
    iso,
    order_stats,
)
from diogen.metrics.flow.prs import Excluded, PullRequestData, PullRequestFacts
from diogen.metrics.stats import PER_WEEK_DIGITS, median, rounded

# Upper bounds (exclusive) in changed lines, as the Kubernetes size labels draw them.
SIZE_CLASSES: tuple[tuple[str, int | None], ...] = (
    ("XS", 10),
    ("S", 30),
    ("M", 100),
    ("L", 500),
    ("XL", None),
)
# Upper bounds (inclusive) in hours of the age of open pull requests.
AGE_BANDS: tuple[tuple[str, int | None], ...] = (
    ("up_to_1_day", 24),
    ("up_to_3_days", 72),
    ("up_to_7_days", 168),
    ("up_to_30_days", 720),
    ("over_30_days", None),
)


def size_class(lines: int) -> str:
    return next(name for name, below in SIZE_CLASSES if below is None or lines < below)


def age_band(hours: float) -> str:
    return next(name for name, upto in AGE_BANDS if upto is None or hours <= upto)


def review_wait(facts: PullRequestFacts) -> float:
    assert facts.first_review_at is not None
    return clamp_hours(facts.row.ready_at, facts.first_review_at)


def depth(facts: PullRequestFacts) -> int:
    return facts.reviews + facts.comments


def _throughput(data: PullRequestData, merged: Sequence[PullRequestFacts]) -> dict[str, Any]:
    per_week = len(merged) / data.window.weeks
    return {"merged": len(merged), "per_week": round(per_week, PER_WEEK_DIGITS)}


def _size(merged: Sequence[PullRequestFacts]) -> dict[str, Any]:
    sizes = [f.size for f in merged if f.size is not None]
    classes = Counter(size_class(lines) for lines in sizes)
    return {
        "pull_requests": len(sizes),
        **order_stats(sizes, "lines"),
        "classes": {name: classes[name] for name, _ in SIZE_CLASSES},
        "unknown": len(merged) - len(sizes),
    }


def _review_depth(merged: Sequence[PullRequestFacts]) -> dict[str, Any]:
    depths = [depth(f) for f in merged]
    reviews = sum(f.reviews for f in merged)
    comments = sum(f.comments for f in merged)
    stats = order_stats(depths, "per_pull_request")
    return {
        "pull_requests": len(merged),
        "reviews": reviews,
        "review_comments": comments,
        "mean_per_pull_request": rounded((reviews + comments) / len(merged) if merged else None, 2),
        **stats,
        "unreviewed": sum(f.first_review_at is None for f in merged),
    }


def _wip(data: PullRequestData) -> dict[str, Any]:
    ages = [hours_between(f.row.created_at, data.at) for f in data.open_at(data.at)]
    bands = Counter(age_band(age) for age in ages)
    return {
        "at": iso(data.at),
        "open": len(ages),
        "age": order_stats(ages, "hours"),
        "age_bands": {name: bands[name] for name, _ in AGE_BANDS},
    }


def pull_request_sections(data: PullRequestData) -> dict[str, Any]:
    merged = data.merged()
    waits = [review_wait(f) for f in data.first_reviews()]
    return {
        "throughput": _throughput(data, merged),
        "size": _size(merged),
        "time_to_first_review": duration_summary("pull_requests", waits),
        "review_depth": _review_depth(merged),
        "wip": _wip(data),
    }


def _median_of(values: Sequence[float], digits: int = 2) -> float | None:
    return rounded(median(values), digits)


def pull_request_buckets(data: PullRequestData, buckets: Buckets) -> list[dict[str, Any]]:
    """Per bucket: merges and their size and depth, first reviews, WIP at the bucket's end."""
    by_merge = buckets.group(data.merged(), lambda f: f.row.merged_at)
    by_review = buckets.group(data.first_reviews(), lambda f: f.first_review_at)
    rows = []
    for (_, end), merged, reviewed in zip(buckets.spans, by_merge, by_review, strict=True):
        sizes = [float(f.size) for f in merged if f.size is not None]
        waits = [review_wait(f) for f in reviewed]
        rows.append(
            {
                "merged": len(merged),
                "median_size_lines": _median_of(sizes),
                "median_review_depth": _median_of([float(depth(f)) for f in merged]),
                "first_reviews": len(reviewed),
                "median_time_to_first_review_hours": hours_json(median(waits)),
                "wip": len(data.open_at(min(end, data.window.end, data.at))),
            }
        )
    return rows


def _pr(facts: PullRequestFacts) -> dict[str, Any]:
    return {"id": facts.row.id, "repo": facts.repo, "number": facts.row.number}


def _merged_row(facts: PullRequestFacts) -> dict[str, Any]:
    size = facts.size
    return {
        **_pr(facts),
        "url": facts.row.url,
        "author": facts.author.shown,
        "merged_at": iso(facts.row.merged_at),
        "size_lines": size,
        "size_class": None if size is None else size_class(size),
        "reviews": facts.reviews,
        "review_comments": facts.comments,
        "review_depth": depth(facts),
    }


def _first_review_row(facts: PullRequestFacts) -> dict[str, Any]:
    return {
        **_pr(facts),
        "ready_at": iso(facts.row.ready_at),
        "first_review_at": iso(facts.first_review_at),
        "source": facts.first_review_source,
        "hours": hours_json(review_wait(facts)),
    }


def _open_row(facts: PullRequestFacts, at: datetime) -> dict[str, Any]:
    return {
        **_pr(facts),
        "author": facts.author.shown,
        "created_at": iso(facts.row.created_at),
        "age_hours": hours_json(hours_between(facts.row.created_at, at)),
    }


def excluded_row(item: Excluded, metric: str) -> dict[str, Any]:
    row = {
        "kind": item.kind,
        **_pr(item.facts),
        "metric": metric,
        "reason": item.reason,
        "detail": item.detail,
    }
    if item.kind != "pull_request":  # reviews and comments come counted per author
        row.update(identity=item.identity, count=item.count)
    return row


def _pull_request_exclusions(data: PullRequestData) -> list[dict[str, Any]]:
    rows = []
    rules: list[tuple[str, str, Callable[[PullRequestFacts], str | None]]] = [
        ("all", "bot_author", lambda f: f.author.bot if _would_count(data, f) else None),
        ("size", "size_unknown", lambda f: _unknown_size(data, f)),
        ("wip", "draft", lambda f: _draft(data, f)),
        ("wip", "closed_time_unknown", lambda f: _closed_unknown(data, f)),
    ]
    for facts in data.facts:
        for metric, reason, why in rules:
            detail = why(facts)
            if detail is not None:
                rows.append(excluded_row(Excluded("pull_request", facts, reason, detail), metric))
    return rows


def _would_count(data: PullRequestData, facts: PullRequestFacts) -> bool:
    row = facts.row
    return (
        (row.merged_at is not None and data.window.contains(row.merged_at))
        or (facts.first_review_at is not None and data.window.contains(facts.first_review_at))
        or bool(facts.open_at(data.at) and not facts.draft_at(data.at))
    )


def _unknown_size(data: PullRequestData, facts: PullRequestFacts) -> str | None:
    merged = facts.row.merged_at is not None and data.window.contains(facts.row.merged_at)
    if facts.author.bot is None and merged and facts.size is None:
        return "additions or deletions unknown"
    return None


def _draft(data: PullRequestData, facts: PullRequestFacts) -> str | None:
    if facts.author.bot is None and facts.open_at(data.at) and facts.draft_at(data.at):
        return f"a draft at {iso(data.at)}"
    return None


def _closed_unknown(data: PullRequestData, facts: PullRequestFacts) -> str | None:
    if facts.author.bot is None and facts.open_at(data.at) is None:
        return f"state {facts.row.state!r} without a merge or close time"
    return None


def pull_request_evidence(data: PullRequestData) -> dict[str, Any]:
    """The pull requests behind each figure, then every exclusion with its reason."""
    activity = [
        excluded_row(item, "review_depth" if item.kind == "review_comment" else "reviews")
        for item in data.activity
    ]
    return {
        "merged": [_merged_row(f) for f in sorted(data.merged(), key=_merge_order)],
        "first_reviews": [
            _first_review_row(f) for f in sorted(data.first_reviews(), key=_review_order)
        ],
        "open": [_open_row(f, data.at) for f in data.open_at(data.at)],
        "excluded": _pull_request_exclusions(data) + activity,
    }


def _merge_order(facts: PullRequestFacts) -> tuple[Any, ...]:
    return (facts.row.merged_at, facts.repo or "", facts.row.number)


def _review_order(facts: PullRequestFacts) -> tuple[Any, ...]:
    return (facts.first_review_at, facts.repo or "", facts.row.number)


def excluded_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Exclusions by pull request, then kind, metric, reason and who."""
    return (
        row["repo"] or "",
        row["number"],
        row["kind"],
        row["metric"],
        row["reason"],
        row.get("identity") or "",
    )

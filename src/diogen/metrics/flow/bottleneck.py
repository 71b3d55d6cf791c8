"""The bottleneck: the pull-request stage with the largest share of cycle time, and its trend.

A merged pull request's cycle is cut into stages (DESIGN.md §5, as the lead-time breakdown):
coding (first commit → ready for review), pickup (→ first review by someone other than the
author, bots excluded) and review (→ merge). Each cut is clamped between the previous one and
the merge, so out-of-order timestamps shorten a stage to zero instead of making it negative.
Without a counting review there is no pickup, and review runs from ready to merge; without a
known commit there is no coding stage. The deploy stage (merge → deployed) is not measured here.

The share of a stage is its median over the sum of the stage medians; the bottleneck is the
stage with the largest share (the earlier stage on a tie).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diogen.metrics.flow.common import (
    Buckets,
    duration_summary,
    hours_between,
    hours_json,
    iso,
    share,
)
from diogen.metrics.flow.prs import PullRequestFacts
from diogen.metrics.stats import median

STAGES = ("coding", "pickup", "review")
NOT_MEASURED = {
    "deploy": "merge → production deployment is reported with the DORA lead time breakdown"
}
# A trend is steady while the last bucket's median stays within 10 % of the first's.
TREND_TOLERANCE = 0.10


@dataclass(frozen=True)
class PullRequestStages:
    facts: PullRequestFacts
    coding: float | None
    pickup: float | None
    review: float

    def hours(self, stage: str) -> float | None:
        value: float | None = getattr(self, stage)
        return value


def _cut(moment: datetime, previous: datetime, merged: datetime) -> datetime:
    return min(max(moment, previous), merged)


def stages_of(facts: PullRequestFacts) -> PullRequestStages:
    merged = facts.row.merged_at
    assert merged is not None
    first = facts.first_commit_at
    start = None if first is None else min(first, merged)
    ready = (
        min(facts.row.ready_at, merged)
        if start is None
        else _cut(facts.row.ready_at, start, merged)
    )
    review = None if facts.first_review_at is None else _cut(facts.first_review_at, ready, merged)
    return PullRequestStages(
        facts=facts,
        coding=None if start is None else hours_between(start, ready),
        pickup=None if review is None else hours_between(ready, review),
        review=hours_between(review or ready, merged),
    )


def _medians(rows: Sequence[PullRequestStages]) -> dict[str, float | None]:
    return {stage: median(_samples(rows, stage)) for stage in STAGES}


def _samples(rows: Sequence[PullRequestStages], stage: str) -> list[float]:
    return [value for row in rows if (value := row.hours(stage)) is not None]


def _bottleneck(medians: dict[str, float | None]) -> str | None:
    known = {stage: value for stage, value in medians.items() if value is not None}
    if not known or sum(known.values()) <= 0:
        return None
    return max(STAGES, key=lambda stage: (known.get(stage, -1.0), -STAGES.index(stage)))


def _direction(first: float, last: float) -> str:
    if first == 0:
        return "steady" if last == 0 else "worsening"
    change = (last - first) / first
    if change > TREND_TOLERANCE:
        return "worsening"
    return "improving" if change < -TREND_TOLERANCE else "steady"


def _trend(
    rows: Sequence[PullRequestStages], stage: str | None, buckets: Buckets
) -> dict[str, Any]:
    series = []
    for head, group in zip(buckets.heads(), buckets.group(rows, _merged_at), strict=True):
        medians = _medians(group)
        series.append(
            {
                **head,
                "pull_requests": len(group),
                "bottleneck": _bottleneck(medians),
                **{f"{name}_median_hours": hours_json(medians[name]) for name in STAGES},
            }
        )
    known = [row[f"{stage}_median_hours"] for row in series if stage] if stage else []
    known = [value for value in known if value is not None]
    return {
        "bucket": buckets.unit,
        "direction": _direction(known[0], known[-1]) if len(known) >= 2 else None,
        "first_median_hours": known[0] if known else None,
        "last_median_hours": known[-1] if known else None,
        "buckets": series,
    }


def _merged_at(row: PullRequestStages) -> datetime | None:
    return row.facts.row.merged_at


def bottleneck_section(rows: Sequence[PullRequestStages], buckets: Buckets) -> dict[str, Any]:
    medians = _medians(rows)
    known = [value for value in medians.values() if value is not None]
    total = sum(known)
    stage = _bottleneck(medians)
    shares = {
        name: None if value is None else share(value, total) for name, value in medians.items()
    }
    return {
        "stage": stage,
        "share": None if stage is None else shares[stage],
        "total_median_hours": hours_json(total) if known else None,
        "stages": [
            {
                "stage": name,
                **duration_summary("pull_requests", _samples(rows, name)),
                "share": shares[name],
            }
            for name in STAGES
        ],
        "not_measured": NOT_MEASURED,
        "trend": _trend(rows, stage, buckets),
    }


def stage_evidence(rows: Sequence[PullRequestStages]) -> list[dict[str, Any]]:
    return [
        {
            "id": row.facts.row.id,
            "repo": row.facts.repo,
            "number": row.facts.row.number,
            "first_commit_at": iso(row.facts.first_commit_at),
            "ready_at": iso(row.facts.row.ready_at),
            "first_review_at": iso(row.facts.first_review_at),
            "merged_at": iso(row.facts.row.merged_at),
            **{f"{name}_hours": hours_json(row.hours(name)) for name in STAGES},
        }
        for row in rows
    ]


def stage_exclusions(rows: Sequence[PullRequestStages]) -> list[dict[str, Any]]:
    excluded = []
    for row in rows:
        facts = row.facts
        head = {
            "kind": "pull_request",
            "id": facts.row.id,
            "repo": facts.repo,
            "number": facts.row.number,
        }
        if row.coding is None:
            detail = "none of its commits is in the database"
            excluded.append(
                {**head, "metric": "coding", "reason": "first_commit_unknown", "detail": detail}
            )
        if row.pickup is None:
            detail = "merged without a review by someone other than the author"
            excluded.append({**head, "metric": "pickup", "reason": "unreviewed", "detail": detail})
    return excluded

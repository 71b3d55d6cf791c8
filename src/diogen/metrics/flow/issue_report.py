"""Issue flow figures as JSON: completed issues, cycle and lead time, time in status, efficiency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from diogen.metrics.flow.common import (
    Buckets,
    duration_summary,
    hours_json,
    iso,
    order_stats,
    share,
)
from diogen.metrics.flow.issues import IssueData, IssueExclusion, IssueFacts
from diogen.metrics.stats import PER_WEEK_DIGITS, median


def _efficiency(issues: Sequence[IssueFacts]) -> dict[str, Any]:
    active = sum(f.active_hours or 0.0 for f in issues)
    waiting = sum(f.waiting_hours or 0.0 for f in issues)
    return {
        "issues": len(issues),
        "active_hours": hours_json(active),
        "waiting_hours": hours_json(waiting),
        "efficiency": share(active, active + waiting),
    }


def time_in_status(issues: Sequence[IssueFacts]) -> list[dict[str, Any]]:
    """Per status: issues that sat in it, total hours, and per-issue median, p75, p90.

    Most total time first. The category shown is the status's latest normalised category.
    """
    per_issue: dict[str | None, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    categories: dict[str | None, tuple[Any, str | None]] = {}
    for facts in issues:
        for segment in facts.statuses:
            per_issue[segment.status][facts.row.id] += segment.hours
            seen = categories.get(segment.status)
            if seen is None or seen[0] <= segment.start:
                categories[segment.status] = (segment.start, segment.category)
    grand = sum(sum(hours.values()) for hours in per_issue.values())
    rows = []
    for status, hours in per_issue.items():
        values = list(hours.values())
        rows.append(
            {
                "status": status,
                "category": categories[status][1],
                "issues": len(values),
                "total_hours": hours_json(sum(values)),
                **order_stats(values, "hours"),
                "share": share(sum(values), grand),
            }
        )
    return sorted(rows, key=lambda row: (-row["total_hours"], row["status"] or ""))


def issue_sections(data: IssueData) -> dict[str, Any]:
    cycled = data.cycled()
    return {
        "completed": {
            "issues": len(data.done),
            "per_week": round(len(data.done) / data.window.weeks, PER_WEEK_DIGITS),
        },
        "cycle_time": duration_summary("issues", [f.cycle_hours or 0.0 for f in cycled]),
        "lead_time": duration_summary("issues", [f.lead_hours for f in data.done]),
        # Created → first production deployment of a linked change, for the issues with one.
        "lead_time_to_deployment": duration_summary(
            "issues", [h for f in data.done if (h := f.deployment_lead_hours) is not None]
        ),
        "time_in_status": time_in_status(data.with_history()),
        "flow_efficiency": _efficiency(cycled),
    }


def issue_buckets(data: IssueData, buckets: Buckets) -> list[dict[str, Any]]:
    rows = []
    for group in buckets.group(data.done, lambda f: f.done_at):
        cycled = [f for f in group if f.active_hours is not None]
        rows.append(
            {
                "issues_completed": len(group),
                "median_cycle_time_hours": hours_json(
                    median([f.cycle_hours or 0.0 for f in cycled])
                ),
                "median_issue_lead_time_hours": hours_json(median([f.lead_hours for f in group])),
                "flow_efficiency": _efficiency(cycled)["efficiency"],
            }
        )
    return rows


def _issue_row(facts: IssueFacts) -> dict[str, Any]:
    statuses: dict[str, float] = defaultdict(float)
    for segment in facts.statuses:
        statuses[segment.status or ""] += segment.hours
    return {
        "id": facts.row.id,
        "key": facts.row.key,
        "type": facts.row.type,
        "url": facts.row.url,
        "assignee": facts.assignee.shown,
        "created_at": iso(facts.row.created_at),
        "started_at": iso(facts.started_at),
        "done_at": iso(facts.done_at),
        "lead_time_hours": hours_json(facts.lead_hours),
        "deployed_at": iso(facts.deployed_at),
        "lead_time_to_deployment_hours": hours_json(facts.deployment_lead_hours),
        "cycle_time_hours": hours_json(facts.cycle_hours),
        "active_hours": hours_json(facts.active_hours),
        "waiting_hours": hours_json(facts.waiting_hours),
        "time_in_status_hours": {name: round(hours, 2) for name, hours in statuses.items()},
    }


def _excluded_row(item: IssueExclusion) -> dict[str, Any]:
    return {
        "kind": "issue",
        "id": item.facts.row.id,
        "key": item.facts.row.key,
        "metric": item.metric,
        "reason": item.reason,
        "detail": item.detail,
    }


def issue_evidence(data: IssueData) -> dict[str, Any]:
    return {
        "issues": [_issue_row(f) for f in data.done],
        "excluded": [_excluded_row(item) for item in data.excluded],
    }

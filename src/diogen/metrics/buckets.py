"""Per-bucket figures (day, week from Monday 00:00 UTC, calendar month) across the window."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from diogen.metrics.failures import Verdict
from diogen.metrics.lead_times import LeadTimes
from diogen.metrics.stats import HOURS_DIGITS, median, ratio, rounded
from diogen.metrics.window import Bucket, Window, calendar_buckets, isoformat_z


@dataclass
class _Tally:
    start: datetime
    end: datetime
    deployments: list[datetime] = field(default_factory=list)
    failed: int = 0
    hours: list[float] = field(default_factory=list)

    def to_json(self, window: Window, *, failure_data: bool) -> dict[str, Any]:
        return {
            "start": isoformat_z(self.start),
            "end": isoformat_z(self.end),
            # A bucket cut by the window's edge only counts the part inside the window.
            "partial": self.start < window.start or self.end > window.end,
            "deployments": len(self.deployments),
            "deploy_days": len({moment.date() for moment in self.deployments}),
            "changes": len(self.hours),
            "median_lead_time_hours": rounded(median(self.hours), HOURS_DIGITS),
            "failed": self.failed,
            # Without failure data the rate is unknown, not 0 (see `DoraData.failure_data`).
            "change_failure_rate": ratio(self.failed, len(self.deployments))
            if failure_data
            else None,
        }


def bucket_rows(
    window: Window,
    unit: Bucket,
    verdicts: Mapping[str, Verdict],
    lead_times: LeadTimes,
    *,
    failure_data: bool = True,
) -> list[dict[str, Any]]:
    """One row per calendar bucket overlapping the window, empty buckets included.

    Deployments fall in the bucket of their finish; changes in the bucket of their deployment.
    Without `failure_data` every `change_failure_rate` is null.
    """
    tallies = [_Tally(start, end) for start, end in calendar_buckets(window, unit)]
    starts = [tally.start for tally in tallies]

    def tally_for(moment: datetime) -> _Tally:
        return tallies[bisect_right(starts, moment) - 1]

    for verdict in verdicts.values():
        finished = verdict.deployment.finished_at
        if finished is not None:
            tally = tally_for(finished)
            tally.deployments.append(finished)
            tally.failed += verdict.failed
    for deployed_at, hours in lead_times.by_deployment():
        tally_for(deployed_at).hours.append(hours)
    return [tally.to_json(window, failure_data=failure_data) for tally in tallies]

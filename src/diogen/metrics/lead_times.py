"""The counted changes as a report's figures read them, whichever way they were found.

The general way builds every change of the counted deployments (`changes`, `pulls`) and is
what the evidence lists. With the default rules and gold fresh for every repository in
question, `gold_lead_times` reads each counted change's precomputed lead time instead, one
narrow row per change, and the report's figures come out the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from diogen.metrics.changes import COMMIT, PULL_REQUEST, Change, Stages


@dataclass(frozen=True)
class LeadTimes:
    """Each counted change's lead time in hours with when it was deployed (parallel lists),
    how many changes are pull requests and how many commits, and the stages of the pull
    requests that have them."""

    hours: Sequence[float]
    deployed_at: Sequence[datetime]
    pull_requests: int
    commits: int
    stages: Sequence[Stages]

    @classmethod
    def of(cls, changes: Sequence[Change]) -> LeadTimes:
        return cls(
            hours=[change.hours for change in changes],
            deployed_at=[change.deployed_at for change in changes],
            pull_requests=sum(change.kind == PULL_REQUEST for change in changes),
            commits=sum(change.kind == COMMIT for change in changes),
            stages=[change.stages for change in changes if change.stages is not None],
        )

    def by_deployment(self) -> Iterable[tuple[datetime, float]]:
        return zip(self.deployed_at, self.hours, strict=True)


def hours(microseconds: int) -> float:
    """A duration in hours, the same float as `timedelta.total_seconds() / 3600` gives."""
    return microseconds / 1_000_000 / 3600


def stage_hours(coding: int, pickup: int | None, review: int, deploy: int) -> Stages:
    return Stages(
        coding=hours(coding),
        pickup=None if pickup is None else hours(pickup),
        review=hours(review),
        deploy=hours(deploy),
    )

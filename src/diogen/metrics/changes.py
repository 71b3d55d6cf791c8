"""Which deployed commits count as changes for lead time, and which are left out and why.

With git alone a change is a non-merge commit (DESIGN.md §5): a merge commit only joins work
that its parents already carry. Pull-request changes arrive with the code-host connectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from diogen.metrics.queries import ChangeRecord

MERGE_COMMIT = "merge_commit"
DEPLOYED_EARLIER = "deployed_earlier"
NEGATIVE_LEAD_TIME = "negative_lead_time"


@dataclass(frozen=True)
class CountedChange:
    record: ChangeRecord
    deployed_at: datetime

    @property
    def hours(self) -> float:
        return (self.deployed_at - self.record.authored_at).total_seconds() / 3600


@dataclass(frozen=True)
class ExcludedChange:
    record: ChangeRecord
    deployed_at: datetime
    reason: str
    detail: str


def _exclusion(
    record: ChangeRecord, deployed_at: datetime, first: datetime | None, seen: set[str]
) -> tuple[str, str] | None:
    if record.is_merge:
        return MERGE_COMMIT, "merge commit: with git alone only non-merge commits are changes"
    if (first is not None and first < deployed_at) or record.commit_id in seen:
        return DEPLOYED_EARLIER, "already shipped by an earlier production deployment"
    hours = (deployed_at - record.authored_at).total_seconds() / 3600
    if hours < 0:
        # Clock skew or a rewritten date: a change cannot reach production before it is written.
        return NEGATIVE_LEAD_TIME, f"authored {-hours:.2f} h after the deployment finished"
    return None


def classify_changes(
    records: Iterable[ChangeRecord],
    deployed_at: Mapping[str, datetime],
    first_deploy: Mapping[str, datetime],
) -> tuple[list[CountedChange], list[ExcludedChange]]:
    """Split commits of counted deployments into changes and exclusions.

    `deployed_at` maps a deployment id to its finish; `first_deploy` a commit id to the first
    production deployment of it. Rows are visited oldest deployment first so a commit shipped
    twice at the same instant counts once, deterministically.
    """
    counted: list[CountedChange] = []
    excluded: list[ExcludedChange] = []
    seen: set[str] = set()
    ordered = sorted(records, key=lambda r: (deployed_at[r.deployment_id], r.deployment_id, r.sha))
    for record in ordered:
        when = deployed_at[record.deployment_id]
        exclusion = _exclusion(record, when, first_deploy.get(record.commit_id), seen)
        if exclusion is None:
            seen.add(record.commit_id)
            counted.append(CountedChange(record, when))
        else:
            excluded.append(ExcludedChange(record, when, *exclusion))
    return counted, excluded

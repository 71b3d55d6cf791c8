"""Which deployed commits count as changes for lead time, and which are left out and why.

A change is a pull request, or a commit that reached the branch without one (DESIGN.md §5).
This module classifies the commits; `pulls.fold_pull_requests` then folds the commits that
belong to pull requests into one change per pull request. With git alone every non-merge
commit is a change: a merge commit only joins work that its parents already carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import NamedTuple

from diogen.metrics.queries import ChangeRecord

COMMIT = "commit"
PULL_REQUEST = "pull_request"

MERGE_COMMIT = "merge_commit"
DEPLOYED_EARLIER = "deployed_earlier"
NEGATIVE_LEAD_TIME = "negative_lead_time"
FIRST_COMMIT_UNKNOWN = "first_commit_unknown"


class Stages(NamedTuple):
    """A pull request's lead time in hours, cut at ready-for-review, first review and merge.

    `pickup` is None when nobody but the author reviewed; `review` then runs from ready to
    merge. The stages always sum to the lead time (see `pulls.stages`).
    """

    coding: float
    pickup: float | None
    review: float
    deploy: float

    def total(self) -> float:
        return self.coding + (self.pickup or 0.0) + self.review + self.deploy


class Change(NamedTuple):
    """A change as a report shows it: one commit or one pull request and where it shipped.

    `key` is the commit sha or the pull request id; `label` is what a person reads (the sha,
    or `#number`); `first_commit_at` is when its first commit was authored. Named tuples:
    a report builds one per change, and tens of thousands over a quarter of a large
    organisation.
    """

    kind: str
    key: str
    label: str
    repository_id: str
    deployment_id: str
    first_commit_at: datetime | None
    deployed_at: datetime
    stages: Stages | None = None
    commits: tuple[str, ...] = ()

    @property
    def hours(self) -> float:
        if self.first_commit_at is None:
            raise ValueError(f"change {self.label} has no first commit time")
        return (self.deployed_at - self.first_commit_at).total_seconds() / 3600


class ExcludedChange(NamedTuple):
    change: Change
    reason: str
    detail: str


def commit_change(record: ChangeRecord, deployed_at: datetime) -> Change:
    return Change(
        kind=COMMIT,
        key=record.commit_id,
        label=record.sha,
        repository_id=record.repository_id,
        deployment_id=record.deployment_id,
        first_commit_at=record.authored_at,
        deployed_at=deployed_at,
        commits=(record.sha,),
    )


def lead_time_exclusion(change: Change) -> tuple[str, str] | None:
    """Why a change with a known deployment cannot give a lead time, if it cannot."""
    if change.first_commit_at is None:
        return FIRST_COMMIT_UNKNOWN, "none of its commits is in the database"
    hours = change.hours
    if hours < 0:
        # Clock skew or a rewritten date: a change cannot reach production before it is written.
        return NEGATIVE_LEAD_TIME, f"first commit authored {-hours:.2f} h after it was deployed"
    return None


def _exclusion(
    record: ChangeRecord, change: Change, first: datetime | None, seen: set[str]
) -> tuple[str, str] | None:
    if record.is_merge:
        return MERGE_COMMIT, "merge commit: it only joins work its parents carry"
    if (first is not None and first < change.deployed_at) or record.commit_id in seen:
        return DEPLOYED_EARLIER, "already shipped by an earlier production deployment"
    return lead_time_exclusion(change)


def classify_changes(
    records: Iterable[ChangeRecord],
    deployed_at: Mapping[str, datetime],
    first_deploy: Mapping[str, datetime],
) -> tuple[list[Change], list[ExcludedChange]]:
    """Split commits of counted deployments into changes and exclusions.

    `deployed_at` maps a deployment id to its finish; `first_deploy` a commit id to the first
    production deployment of it. Rows are visited oldest deployment first so a commit shipped
    twice at the same instant counts once, deterministically.
    """
    counted: list[Change] = []
    excluded: list[ExcludedChange] = []
    seen: set[str] = set()
    ordered = sorted(records, key=lambda r: (deployed_at[r.deployment_id], r.deployment_id, r.sha))
    for record in ordered:
        change = commit_change(record, deployed_at[record.deployment_id])
        exclusion = _exclusion(record, change, first_deploy.get(record.commit_id), seen)
        if exclusion is None:
            seen.add(record.commit_id)
            counted.append(change)
        else:
            excluded.append(ExcludedChange(change, *exclusion))
    return counted, excluded

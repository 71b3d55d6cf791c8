"""Pull requests as changes: one change per pull request instead of one per commit.

Lead time of a pull request is its first deployment minus its first commit's authored time,
cut into stages (DESIGN.md §5): coding (first commit → ready for review), pickup (→ first review
by someone other than the author, bots excluded), review (→ merge) and deploy (merge →
deployed). Each cut is clamped between the previous one and the deployment, so out-of-order
timestamps (a commit pushed after review, a review after merge) shorten a stage to zero
instead of making one negative, and the stages always add up to the lead time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from diogen.metrics.change_inputs import ChangeInputs
from diogen.metrics.changes import (
    DEPLOYED_EARLIER,
    PULL_REQUEST,
    Change,
    ExcludedChange,
    Stages,
    lead_time_exclusion,
)
from diogen.metrics.pull_facts import stage_cuts
from diogen.metrics.pull_queries import PullRequestFacts


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def stages(pr: PullRequestFacts, first_commit: datetime, deployed: datetime) -> Stages:
    ready = pr.ready_for_review_at or pr.created_at
    cuts = stage_cuts(first_commit, ready, pr.first_review_at, pr.merged_at, deployed)
    return Stages(
        coding=_hours(cuts[0], cuts[1]),
        pickup=None if pr.first_review_at is None else _hours(cuts[1], cuts[2]),
        review=_hours(cuts[2], cuts[3]),
        deploy=_hours(cuts[3], cuts[4]),
    )


@dataclass(frozen=True)
class Folded:
    counted: list[Change]
    excluded: list[ExcludedChange]


def _pull_request_change(pr: PullRequestFacts, shas: Iterable[str]) -> Change:
    assert pr.deployment_id is not None and pr.deployed_at is not None
    first = pr.first_commit_at
    valid = first is not None and first <= pr.deployed_at
    return Change(
        kind=PULL_REQUEST,
        key=pr.id,
        label=f"#{pr.number}",
        repository_id=pr.repository_id,
        deployment_id=pr.deployment_id,
        first_commit_at=first,
        deployed_at=pr.deployed_at,
        stages=stages(pr, first, pr.deployed_at) if valid and first is not None else None,
        commits=tuple(sorted(shas)),
    )


def _classify(change: Change, counted_deployments: Mapping[str, datetime]) -> ExcludedChange | None:
    if change.deployment_id not in counted_deployments:
        return ExcludedChange(
            change, DEPLOYED_EARLIER, "already shipped by an earlier production deployment"
        )
    exclusion = lead_time_exclusion(change)
    return None if exclusion is None else ExcludedChange(change, *exclusion)


def fold_pull_requests(
    commits: list[Change],
    excluded_commits: list[ExcludedChange],
    inputs: ChangeInputs,
    counted_deployments: Mapping[str, datetime],
    *,
    team_scope: bool,
) -> Folded:
    """Replace the commits of pull requests by one change per pull request in scope.

    In a team scope a pull request belongs to the team when its author was a member when it
    was opened; otherwise when one of its deployed commits is a change of the scope.
    """
    counted = [c for c in commits if c.key not in inputs.folded]
    excluded = [e for e in excluded_commits if e.change.key not in inputs.folded]
    pull_requests = inputs.pull_requests
    for pr_id in sorted(pull_requests, key=lambda pr_id: (pull_requests[pr_id].number, pr_id)):
        pr = pull_requests[pr_id]
        if not pr.author_in_scope or not (team_scope or inputs.in_scope.get(pr_id, False)):
            continue
        change = _pull_request_change(pr, inputs.shas.get(pr_id, ()))
        verdict = _classify(change, counted_deployments)
        if verdict is None:
            counted.append(change)
        else:
            excluded.append(verdict)
    return Folded(counted, excluded)

"""When each issue first reached production: the first successful production deployment that
shipped a change linked to it (`work_link`: a commit naming it, or a pull request naming it
in its branch or title, through its commits and its merge commit). `deployment_commit` says
which deployment first shipped each commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Select, and_, select, union
from sqlalchemy.orm import Session

from diogen.config import PRODUCTION_ENVIRONMENT_PATTERN
from diogen.metrics.scope import environment_pattern
from diogen.silver import (
    Commit,
    Deployment,
    DeploymentCommit,
    PullRequest,
    PullRequestCommit,
    WorkLink,
)


def _linked_commits(ids: Select[str]) -> Select[tuple[str, str]]:
    """(issue id, commit id) of every change linked to the issues `ids` selects."""
    direct = select(WorkLink.issue_id, WorkLink.commit_id.label("commit_id")).where(
        WorkLink.issue_id.in_(ids), WorkLink.commit_id.is_not(None)
    )
    through_pull = (
        select(WorkLink.issue_id, Commit.id.label("commit_id"))
        .join(PullRequestCommit, PullRequestCommit.pull_request_id == WorkLink.pull_request_id)
        .join(
            Commit,
            and_(
                Commit.repository_id == WorkLink.repository_id,
                Commit.sha == PullRequestCommit.sha,
            ),
        )
        .where(WorkLink.issue_id.in_(ids))
    )
    merged = (
        select(WorkLink.issue_id, Commit.id.label("commit_id"))
        .join(PullRequest, PullRequest.id == WorkLink.pull_request_id)
        .join(
            Commit,
            and_(
                Commit.repository_id == PullRequest.repository_id,
                Commit.sha == PullRequest.merge_commit_sha,
            ),
        )
        .where(WorkLink.issue_id.in_(ids))
    )
    return union(direct, through_pull, merged)  # type: ignore[return-value]


def first_deployments(
    session: Session,
    ids: Select[str],
    production: re.Pattern[str] | None = None,
) -> Mapping[str, datetime]:
    """Issue id → when the first production deployment shipping a linked change finished."""
    rule = production or environment_pattern(PRODUCTION_ENVIRONMENT_PATTERN)
    linked = _linked_commits(ids).subquery()
    rows = session.execute(
        select(linked.c.issue_id, Deployment.environment, Deployment.finished_at)
        .join(DeploymentCommit, DeploymentCommit.commit_id == linked.c.commit_id)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .where(Deployment.status == "success", Deployment.finished_at.is_not(None))
    )
    found: dict[str, datetime] = {}
    for issue_id, environment, finished in rows:
        if rule.search(environment or "") and (issue_id not in found or finished < found[issue_id]):
            found[issue_id] = finished
    return found

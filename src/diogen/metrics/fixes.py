"""Deployments that repair an earlier one without being linked to it: reverts and hotfixes.

- A revert: the deployment ships a commit whose message says `This reverts commit <sha>.`
  (what `git revert` and GitHub's revert button write) of a commit an earlier production
  deployment of the same repository and environment shipped; that deployment failed.
- A hotfix: the deployment ships a pull request whose head branch or one of its labels
  matches the hotfix pattern (default: "hotfix", any case); the deployment before it in its
  stream failed.

Both are rework. Linked fixes (`fixes_deployment_id`) and rollbacks live in `failures`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, aliased

from diogen.config import HOTFIX_PATTERN
from diogen.metrics.pull_queries import pull_request_commits
from diogen.metrics.queries import SUCCESS, not_an_index
from diogen.metrics.scope import ResolvedScope
from diogen.silver import Commit, Deployment, DeploymentCommit, PullRequest

DEFAULT_HOTFIX_PATTERN = HOTFIX_PATTERN
REVERT_MESSAGE = re.compile(r"This reverts commit ([0-9a-f]{7,64})")


def _since(
    scope: ResolvedScope, environments: tuple[str, ...], since: datetime
) -> tuple[ColumnElement[bool], ...]:
    return (
        scope.deployment_filter(),
        Deployment.status == SUCCESS,
        Deployment.environment.in_(environments),
        Deployment.finished_at >= since,
    )


def reverts(
    session: Session, scope: ResolvedScope, environments: tuple[str, ...], since: datetime
) -> dict[str, str]:
    """{deployment id: id of the earlier deployment whose change it reverts}."""
    # The recent deployments as an IN list: the planners then start from them, not from every
    # deployed-commit link of the history.
    recent = select(Deployment.id).where(*_since(scope, environments, since))
    query = (
        select(Deployment.id, Deployment.repository_id, Deployment.environment, Commit.message)
        .select_from(DeploymentCommit)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .join(Commit, Commit.id == DeploymentCommit.commit_id)
        .where(
            DeploymentCommit.deployment_id.in_(recent),
            Commit.message.contains("This reverts commit "),
        )
    )
    wanted: list[tuple[str, str | None, str, str]] = []
    for dep_id, repo_id, environment, message in session.execute(query):
        wanted.extend(
            (dep_id, repo_id, environment, sha) for sha in REVERT_MESSAGE.findall(message)
        )
    return _reverted_deployments(session, wanted)


def _reverted_deployments(
    session: Session, wanted: list[tuple[str, str | None, str, str]]
) -> dict[str, str]:
    if not wanted:
        return {}
    shas = {sha for *_, sha in wanted}
    # With the repositories the sha index (repository, sha) applies; a sha alone has none.
    repositories = {repo for _, repo, _, _ in wanted if repo is not None}
    earlier = aliased(Deployment)
    query = (
        select(
            Commit.sha, Commit.repository_id, earlier.environment, earlier.id, earlier.finished_at
        )
        .join(DeploymentCommit, DeploymentCommit.commit_id == Commit.id)
        .join(earlier, earlier.id == DeploymentCommit.deployment_id)
        .where(
            Commit.repository_id.in_(repositories),
            Commit.sha.in_(shas),
            earlier.status == SUCCESS,
        )
        .order_by(earlier.finished_at.desc(), earlier.id.desc())
    )
    # Newest first, so the last write for each commit is the deployment that first shipped it.
    shipped: dict[tuple[str, str | None, str], str] = {
        (sha, repo, env): dep for sha, repo, env, dep, _at in session.execute(query)
    }
    found: dict[str, str] = {}
    for dep_id, repo_id, environment, sha in sorted(wanted):
        target = shipped.get((sha, repo_id, environment))
        if target is not None and target != dep_id:
            found.setdefault(dep_id, target)
    return found


def hotfixes(
    session: Session,
    scope: ResolvedScope,
    environments: tuple[str, ...],
    since: datetime,
    pattern: re.Pattern[str],
) -> set[str]:
    """Deployments since `since` that ship a pull request marked as a hotfix."""
    # Subqueries evaluated once: the scope's filter runs per deployment, not per commit.
    recent = select(Deployment.id).where(*_since(scope, environments, since))
    shipped = select(DeploymentCommit.commit_id).where(DeploymentCommit.deployment_id.in_(recent))
    pr_commits = pull_request_commits(commits=shipped).subquery()
    query = (
        select(DeploymentCommit.deployment_id, PullRequest.head_ref, PullRequest.labels)
        .join(pr_commits, pr_commits.c.commit_id == DeploymentCommit.commit_id)
        .join(PullRequest, PullRequest.id == pr_commits.c.pull_request_id)
        .where(not_an_index(DeploymentCommit.deployment_id).in_(recent))
    )
    return {
        dep_id
        for dep_id, head_ref, labels in session.execute(query)
        if _marked(pattern, head_ref, labels or [])
    }


def _marked(pattern: re.Pattern[str], head_ref: str | None, labels: Iterable[object]) -> bool:
    names = [head_ref or "", *(str(label) for label in labels)]
    return any(pattern.search(name) for name in names)

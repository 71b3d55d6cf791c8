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
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session, aliased

from diogen.config import HOTFIX_PATTERN
from diogen.metrics.pull_facts import marked_hotfix
from diogen.metrics.pull_queries import CHUNK
from diogen.metrics.queries import SUCCESS
from diogen.metrics.sql_hints import not_an_index
from diogen.silver import Commit, Deployment, DeploymentCommit, PullRequest
from diogen.silver.code import REVERT_CONDITION

DEFAULT_HOTFIX_PATTERN = HOTFIX_PATTERN
REVERT_MESSAGE = re.compile(r"This reverts commit ([0-9a-f]{7,64})")


def reverts(session: Session, recent: Select[Any]) -> dict[str, str]:
    """{deployment id of `recent`: id of the earlier deployment whose change it reverts}.

    `recent` is the scope's successful production deployments since the window's start, as an
    IN list: the planners then start from them, not from every deployed-commit link.
    """
    # From the history's few reverts (a partial index holds them) to their deployments, not
    # from every commit the recent deployments shipped.
    reverting = aliased(Commit)
    reverts = select(reverting.id).where(text(REVERT_CONDITION))
    query = (
        select(Deployment.id, Deployment.repository_id, Deployment.environment, Commit.message)
        .select_from(Commit)
        .join(DeploymentCommit, DeploymentCommit.commit_id == Commit.id)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .where(Commit.id.in_(reverts), not_an_index(DeploymentCommit.deployment_id).in_(recent))
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
    # By the sha index alone, the pairs kept in Python: a list of repositories beside one of
    # shas had both planners try every repository with every sha, and SQLite scans the whole
    # table for a list of (repository, sha) rows.
    pairs = {(repo, sha) for _, repo, _, sha in wanted if repo is not None}
    shas = sorted({sha for _, sha in pairs})
    earlier = aliased(Deployment)
    query = (
        select(
            Commit.sha, Commit.repository_id, earlier.environment, earlier.id, earlier.finished_at
        )
        .join(DeploymentCommit, DeploymentCommit.commit_id == Commit.id)
        .join(earlier, earlier.id == DeploymentCommit.deployment_id)
        .where(earlier.status == SUCCESS, earlier.finished_at.is_not(None))
    )
    rows = [
        row
        for start in range(0, len(shas), CHUNK)
        for row in session.execute(query.where(Commit.sha.in_(shas[start : start + CHUNK])))
        if (row.repository_id, row.sha) in pairs
    ]
    # Newest first, so the last write for each commit is the deployment that first shipped it.
    rows.sort(key=lambda row: (row.finished_at, row.id), reverse=True)
    shipped: dict[tuple[str, str | None, str], str] = {
        (sha, repo, env): dep for sha, repo, env, dep, _at in rows
    }
    found: dict[str, str] = {}
    for dep_id, repo_id, environment, sha in sorted(wanted):
        target = shipped.get((sha, repo_id, environment))
        if target is not None and target != dep_id:
            found.setdefault(dep_id, target)
    return found


def hotfixes(
    session: Session, shipped: Iterable[tuple[str, str]], pattern: re.Pattern[str]
) -> set[str]:
    """Deployments that ship a pull request marked as a hotfix.

    `shipped` is (deployment id, pull request id) for the recent deployments, the commit ↔
    pull request matching the report already ran for its links (`pull_queries.shipped`).
    """
    by_pull_request: dict[str, set[str]] = {}
    for dep_id, pr_id in shipped:
        by_pull_request.setdefault(pr_id, set()).add(dep_id)
    ordered = sorted(by_pull_request)
    found: set[str] = set()
    for start in range(0, len(ordered), CHUNK):
        query = select(PullRequest.id, PullRequest.head_ref, PullRequest.labels).where(
            PullRequest.id.in_(ordered[start : start + CHUNK])
        )
        for pr_id, head_ref, labels in session.execute(query):
            if marked_hotfix(pattern, head_ref, labels):
                found |= by_pull_request[pr_id]
    return found

"""The reads that turn deployed commits into pull-request changes (DESIGN.md §5).

A pull request is deployed by the first production deployment containing its merge commit or
any of its commits, which covers merge, squash and rebase merges alike. The commit ↔ pull
request matching comes from gold (`metrics.gold.matching`: gold rows of fresh repositories,
silver's matching for the others). Every query here is one statement whatever the number of
pull requests; the set of pull requests is passed along as a subquery.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from diogen.metrics.gold import Freshness, freshness, matching, only_fresh, stale_matching
from diogen.metrics.queries import SUCCESS, as_flag, id_list, in_scope_among
from diogen.metrics.reviews import first_review_at
from diogen.metrics.scope import ResolvedScope
from diogen.metrics.sql_hints import not_an_index
from diogen.silver import (
    Commit,
    Deployment,
    DeploymentCommit,
    PullRequest,
)
from diogen.silver.gold import GoldPullRequestCommit

# Pull requests per query in `facts`: well under SQLite's 32,766 bound parameters.
CHUNK = 2000


@dataclass(frozen=True)
class Link:
    """A deployed commit of a counted deployment that belongs to a pull request."""

    commit_id: str
    sha: str
    pull_request_id: str
    # The commit is a change of the scope (a monorepo service's path, say).
    commit_in_scope: bool


class PullRequestFacts(NamedTuple):
    id: str
    repository_id: str
    number: int
    created_at: datetime
    ready_for_review_at: datetime | None
    merged_at: datetime | None
    author_in_scope: bool
    first_commit_at: datetime | None = None
    first_review_at: datetime | None = None
    deployment_id: str | None = None
    deployed_at: datetime | None = None


def _deployed_by(counted: Select[Any]) -> Select[str]:
    return select(DeploymentCommit.commit_id).where(DeploymentCommit.deployment_id.in_(counted))


@dataclass(frozen=True)
class Shipped:
    """A deployed commit that belongs to a pull request, with the deployment shipping it."""

    deployment_id: str
    link: Link


def shipped(session: Session, scope: ResolvedScope, deployments: Select[Any]) -> list[Shipped]:
    """The commit ↔ pull request matching over the commits of `deployments`, run once per
    report: its links (the counted deployments) and its hotfixes (every deployment since the
    window's start) are both read from the answer."""
    known = freshness(session)
    queries: list[Select[Any, Any, Any, Any, Any]] = []
    if known.fresh:
        queries.append(_shipped_from_gold(session, scope, deployments, known))
    silver = stale_matching(session, known, commits=_deployed_by(deployments))
    if silver is not None:
        pr_commits = silver.subquery()
        queries.append(
            select(
                DeploymentCommit.deployment_id,
                pr_commits.c.commit_id,
                Commit.sha,
                pr_commits.c.pull_request_id,
                as_flag(scope.change_filter()),
            )
            .select_from(DeploymentCommit)
            .join(pr_commits, pr_commits.c.commit_id == DeploymentCommit.commit_id)
            .join(Commit, Commit.id == DeploymentCommit.commit_id)
            .where(DeploymentCommit.deployment_id.in_(deployments))
        )
    return [
        Shipped(dep_id, Link(*link))
        for query in queries
        for dep_id, *link in session.execute(query)
    ]


def _shipped_from_gold(
    session: Session, scope: ResolvedScope, deployments: Select[Any], known: Freshness
) -> Select[str, str, str, str, bool]:
    """Index joins from the deployments' commits: deployment_commit entered by deployment
    (SQLite is kept off its commit index, which would have it walk every gold row and probe
    each), then the gold rows of each commit, then the commit."""
    gold = GoldPullRequestCommit
    return (
        select(
            DeploymentCommit.deployment_id,
            gold.commit_id,
            Commit.sha,
            gold.pull_request_id,
            as_flag(scope.change_filter()),
        )
        .select_from(DeploymentCommit)
        .join(gold, gold.commit_id == not_an_index(DeploymentCommit.commit_id))
        .join(Commit, Commit.id == DeploymentCommit.commit_id)
        .where(DeploymentCommit.deployment_id.in_(deployments), *only_fresh(session, known))
    )


def links_of(rows: Iterable[Shipped], counted: Collection[str]) -> list[Link]:
    """The distinct links shipped by the `counted` deployments."""
    return list(dict.fromkeys(row.link for row in rows if row.deployment_id in counted))


def links(session: Session, scope: ResolvedScope, counted: Select[Any]) -> list[Link]:
    """Deployed commits of the counted deployments that belong to a pull request."""
    return list(dict.fromkeys(row.link for row in shipped(session, scope, counted)))


def facts(
    session: Session,
    scope: ResolvedScope,
    ids: Collection[str],
    environments: tuple[str, ...],
    before: datetime,
    *,
    chunk: int = CHUNK,
) -> dict[str, PullRequestFacts]:
    """Timestamps of the pull requests `ids` (those `links` found in the counted deployments).

    Asked `chunk` ids at a time: each query then starts from the pull requests' primary keys,
    and the matching of deployed commits to pull requests (`links`) runs once, not per query.
    """
    found: dict[str, PullRequestFacts] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), chunk):
        part = ordered[start : start + chunk]
        found.update(_facts_of(session, scope, part, environments, before))
    return found


def _facts_of(
    session: Session,
    scope: ResolvedScope,
    ids: list[str],
    environments: tuple[str, ...],
    before: datetime,
) -> dict[str, PullRequestFacts]:
    query = select(
        PullRequest.id,
        PullRequest.repository_id,
        PullRequest.number,
        PullRequest.created_at,
        PullRequest.ready_for_review_at,
        PullRequest.merged_at,
        as_flag(scope.member_at(PullRequest.author_identity_id, PullRequest.created_at)),
    ).where(PullRequest.id.in_(ids))
    found = {row[0]: PullRequestFacts(*row) for row in session.execute(query)}
    first_commits = _first_commits(session, ids)
    reviews = first_reviews(session, ids)
    deployments = _first_deployments(session, scope, ids, environments, before)
    return {
        pr_id: _with(pr, first_commits.get(pr_id), reviews.get(pr_id), deployments.get(pr_id))
        for pr_id, pr in found.items()
    }


def _with(
    pr: PullRequestFacts,
    first_commit: datetime | None,
    review: datetime | None,
    deployment: tuple[str, datetime] | None,
) -> PullRequestFacts:
    return pr._replace(
        first_commit_at=first_commit,
        first_review_at=review,
        deployment_id=deployment[0] if deployment else None,
        deployed_at=deployment[1] if deployment else None,
    )


def _first_commits(session: Session, ids: list[str]) -> dict[str, datetime]:
    """Earliest authored time over a pull request's known commits; a merge commit only joins."""
    pr_commits = matching(session, pull_requests=ids).subquery()
    query = (
        select(pr_commits.c.pull_request_id, func.min(Commit.authored_at))
        .join(Commit, Commit.id == pr_commits.c.commit_id)
        .where(Commit.is_merge.is_(False))
        .group_by(pr_commits.c.pull_request_id)
    )
    return {pr_id: first for pr_id, first in session.execute(query) if first is not None}


def first_reviews(
    session: Session, ids: Collection[str], *, chunk: int = CHUNK
) -> dict[str, datetime]:
    """First review of each pull request of `ids` (`first_review_at`), where it has one."""
    found: dict[str, datetime] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), chunk):
        query = select(PullRequest.id, first_review_at()).where(
            PullRequest.id.in_(ordered[start : start + chunk])
        )
        found.update({pr_id: at for pr_id, at in session.execute(query) if at is not None})
    return found


def _first_deployments(
    session: Session,
    scope: ResolvedScope,
    ids: list[str],
    environments: tuple[str, ...],
    before: datetime,
) -> dict[str, tuple[str, datetime]]:
    """The first successful production deployment in scope shipping any commit of each pull
    request.

    The scope's filter is asked afterwards, once per deployment found (`in_scope_among`): in
    the join a team's filter (a correlated EXISTS) ran once per pull request, commit and
    deployment.
    """
    pr_commits = matching(session, pull_requests=ids).subquery()
    query = (
        select(pr_commits.c.pull_request_id, Deployment.id, Deployment.finished_at)
        .join(DeploymentCommit, DeploymentCommit.commit_id == pr_commits.c.commit_id)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .where(
            Deployment.status == SUCCESS,
            Deployment.environment.in_(environments),
            Deployment.finished_at < before,
        )
        .order_by(Deployment.finished_at.desc(), Deployment.id.desc())
    )
    rows = session.execute(query).all()
    in_scope = set(
        session.scalars(in_scope_among(scope, id_list(session, {dep_id for _, dep_id, _ in rows})))
    )
    # Newest first, so the last write for each pull request is its first deployment.
    return {pr_id: (dep_id, at) for pr_id, dep_id, at in rows if dep_id in in_scope}

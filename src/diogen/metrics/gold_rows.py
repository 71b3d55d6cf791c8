"""The gold rows of one repository as queries over silver: what a refresh inserts.

Each query is written with the repository as a constant, so every join is a lookup in a
(repository, ...) index; the general forms, which follow each row to its repository, had
PostgreSQL hash whole tables for each repository (3.8 s a repository at scale 0.1).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    exists,
    false,
    func,
    literal,
    null,
    select,
    union,
)
from sqlalchemy.orm import aliased

from diogen.db import UTCDateTime
from diogen.metrics.matching import pull_request_commits
from diogen.metrics.queries import SUCCESS
from diogen.metrics.reviews import first_review_at
from diogen.metrics.sql_hints import not_an_index
from diogen.silver import Commit, Deployment, DeploymentCommit, PullRequest, PullRequestCommit
from diogen.silver.gold import COMMIT, PULL_REQUEST, GoldPullRequestCommit


def repository_matching(repository_id: str) -> Select[Any]:
    """(pull request, commit, repository): silver's matching (`matching.pull_request_commits`)
    for the pull requests of one repository."""
    listed_commit, copy = aliased(Commit), aliased(Commit)
    own = [PullRequest.repository_id == repository_id]
    # A listed commit of one of the repository's pull requests, found in the repository.
    listed_join = (
        select(PullRequestCommit.pull_request_id)
        .join(PullRequest, PullRequest.id == PullRequestCommit.pull_request_id)
        .join(
            listed_commit,
            and_(
                listed_commit.repository_id == repository_id,
                listed_commit.sha == PullRequestCommit.sha,
            ),
        )
        .where(*own)
    )
    listed = listed_join.add_columns(listed_commit.id.label("commit_id"))
    merged = (
        select(PullRequest.id.label("pull_request_id"), listed_commit.id.label("commit_id"))
        .join(
            listed_commit,
            and_(
                listed_commit.repository_id == repository_id,
                listed_commit.sha == PullRequest.merge_commit_sha,
            ),
        )
        .where(*own)
    )
    rebased = listed_join.add_columns(copy.id.label("commit_id")).join(
        copy,
        and_(
            copy.repository_id == repository_id,
            copy.authored_at == listed_commit.authored_at,
            copy.author_email == listed_commit.author_email,
            copy.subject == listed_commit.subject,
            copy.sha != listed_commit.sha,
        ),
    )
    pairs = union(listed, merged, rebased).subquery()
    return select(pairs.c.pull_request_id, pairs.c.commit_id, literal(repository_id))


def matching_of_pull_requests(pull_requests: Select[Any]) -> Select[Any]:
    """(pull request, commit, repository): silver's matching for the `pull_requests`."""
    pairs = pull_request_commits(pull_requests=pull_requests).subquery()
    return select(pairs.c.pull_request_id, pairs.c.commit_id, PullRequest.repository_id).join(
        PullRequest, PullRequest.id == pairs.c.pull_request_id
    )


def pull_requests_of_commits(commits: Select[Any]) -> Select[Any]:
    """The pull requests silver's matching gives the `commits`: listing one, merged as one,
    or listing a commit one is a copy of (in the commit's repository)."""
    changed, original = aliased(Commit), aliased(Commit)
    # Checked on the pull requests found, not a way in: SQLite walked every pull request of
    # the repository for each commit through the (repository, number) index.
    own = not_an_index(PullRequest.repository_id) == changed.repository_id
    listed = (
        select(PullRequestCommit.pull_request_id)
        .select_from(changed)
        .join(PullRequestCommit, PullRequestCommit.sha == changed.sha)
        .join(PullRequest, and_(PullRequest.id == PullRequestCommit.pull_request_id, own))
        .where(changed.id.in_(commits))
    )
    merged = (
        select(PullRequest.id)
        .select_from(changed)
        .join(PullRequest, and_(PullRequest.merge_commit_sha == changed.sha, own))
        .where(changed.id.in_(commits))
    )
    rebased = (
        select(PullRequestCommit.pull_request_id)
        .select_from(changed)
        .join(
            original,
            and_(
                original.repository_id == changed.repository_id,
                original.authored_at == changed.authored_at,
                original.author_email == changed.author_email,
                original.subject == changed.subject,
                original.sha != changed.sha,
            ),
        )
        .join(PullRequestCommit, PullRequestCommit.sha == original.sha)
        .join(PullRequest, and_(PullRequest.id == PullRequestCommit.pull_request_id, own))
        .where(changed.id.in_(commits))
    )
    return union(listed, merged, rebased)  # type: ignore[return-value]


def repository_change_rows(repository_id: str) -> list[Select[Any]]:
    """Every `gold_change` row of one repository: its pull requests' entered by its matching
    in `gold_pull_request_commit` (which comes first), its commits' by its deployments.
    Entered by the deployments too, PostgreSQL's forced index lookups walked the whole
    matching table for each repository: quadratic in a whole rebuild."""
    matched = GoldPullRequestCommit.repository_id == repository_id
    return [_pull_request_rows(matched), _commit_rows(Deployment.repository_id == repository_id)]


def keyed_change_rows(
    pull_requests: Select[Any] | None, commits: Select[Any] | None, deployments: Select[Any] | None
) -> list[Select[Any] | CompoundSelect[Any]]:
    """The `gold_change` rows of the given pull requests and commits and of the given
    deployments (None: none), entered by those keys so that the cost follows them."""
    by_deployment = None if deployments is None else DeploymentCommit.deployment_id.in_(deployments)
    pull_request_keys = [
        None if pull_requests is None else GoldPullRequestCommit.pull_request_id.in_(pull_requests),
        by_deployment,
    ]
    commit_keys = [None if commits is None else Commit.id.in_(commits), by_deployment]
    return [
        rows
        for rows in (
            _either([_pull_request_rows(keys) for keys in pull_request_keys if keys is not None]),
            _either([_commit_rows(keys) for keys in commit_keys if keys is not None]),
        )
        if rows is not None
    ]


def _either(
    queries: list[Select[Any]] | list[Select[*tuple[Any, ...]]],
) -> Select[Any] | CompoundSelect[Any] | None:
    """The rows of any of the queries, each once (None for none)."""
    if len(queries) > 1:
        return union(*queries)
    return queries[0] if queries else None


def _shipping(keys: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    """Successful deployments (the only ones with deployed commits), and the keys."""
    return [Deployment.status == SUCCESS, Deployment.finished_at.is_not(None), keys]


def _pull_request_rows(keys: ColumnElement[bool]) -> Select[Any]:
    """A row per pull request and successful deployment shipping any of its commits."""
    gold = GoldPullRequestCommit
    shipped = (
        select(gold.pull_request_id, DeploymentCommit.deployment_id)
        .join(DeploymentCommit, DeploymentCommit.commit_id == gold.commit_id)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        # No repository condition on the matching: with one the planners crossed every
        # deployment of the repository with every matched commit (the keys imply it).
        .where(*_shipping(keys))
        .distinct()
        .subquery()
    )
    matched, commit = aliased(GoldPullRequestCommit), aliased(Commit)
    # A merge commit only joins work: the first commit is the earliest of the others.
    first_commit = (
        select(func.min(commit.authored_at))
        .select_from(matched)
        .join(commit, commit.id == matched.commit_id)
        .where(matched.pull_request_id == PullRequest.id, commit.is_merge.is_(False))
        .scalar_subquery()
    )
    return (
        select(
            shipped.c.deployment_id,
            shipped.c.pull_request_id.label("change_id"),
            literal(PULL_REQUEST, String).label("kind"),
            PullRequest.repository_id,
            Deployment.environment,
            Deployment.finished_at.label("deployed_at"),
            null().cast(String).label("sha"),
            PullRequest.number,
            PullRequest.author_identity_id,
            PullRequest.created_at.label("author_at"),
            first_commit.label("first_commit_at"),
            false().label("is_merge"),
            PullRequest.ready_for_review_at,
            first_review_at().label("first_review_at"),
            PullRequest.merged_at,
            PullRequest.head_ref,
            PullRequest.labels,
        )
        .join(PullRequest, PullRequest.id == shipped.c.pull_request_id)
        .join(Deployment, Deployment.id == shipped.c.deployment_id)
    )


def _commit_rows(keys: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """A row per commit no pull request claims and successful deployment shipping it."""
    claimed = exists().where(GoldPullRequestCommit.commit_id == Commit.id)
    rows: Select[*tuple[Any, ...]] = (
        select(
            DeploymentCommit.deployment_id,
            Commit.id.label("change_id"),
            literal(COMMIT, String).label("kind"),
            Commit.repository_id,
            Deployment.environment,
            Deployment.finished_at.label("deployed_at"),
            Commit.sha,
            null().cast(Integer).label("number"),
            Commit.author_identity_id,
            Commit.authored_at.label("author_at"),
            Commit.authored_at.label("first_commit_at"),
            Commit.is_merge,
            null().cast(UTCDateTime()).label("ready_for_review_at"),
            null().cast(UTCDateTime()).label("first_review_at"),
            null().cast(UTCDateTime()).label("merged_at"),
            null().cast(String).label("head_ref"),
            null().cast(PullRequest.labels.type).label("labels"),
        )
        .select_from(DeploymentCommit)
        .join(Commit, Commit.id == DeploymentCommit.commit_id)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .where(~claimed, *_shipping(keys))
    )
    return rows


def deployment_author_rows(deployments: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """`gold_deployment_author` rows of the `deployments`: what `deployment_commit` holds, as
    the team filter over silver reads it (`scope.ResolvedScope`), whatever the status."""
    return (
        select(
            DeploymentCommit.deployment_id,
            Commit.author_identity_id,
            Deployment.repository_id,
            func.min(Commit.authored_at).label("first_at"),
            func.max(Commit.authored_at).label("last_at"),
        )
        .select_from(Deployment)
        .join(DeploymentCommit, DeploymentCommit.deployment_id == Deployment.id)
        .join(Commit, Commit.id == DeploymentCommit.commit_id)
        .where(deployments, Commit.author_identity_id.is_not(None))
        .group_by(
            DeploymentCommit.deployment_id, Commit.author_identity_id, Deployment.repository_id
        )
    )

"""The silver reads behind the pull-request flow metrics: five queries, whatever the data size.

The pull requests of interest ("touching" the window) are expressed once as a subquery that
the review, comment, commit and identity queries join against. Reviews and comments come back
counted per pull request and author (GROUP BY), so rows grow with reviewers, not with reviews.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from diogen.metrics.scope import ResolvedScope, ServicePath
from diogen.metrics.window import Window
from diogen.silver import (
    Commit,
    CommitFile,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    ReviewComment,
)


@dataclass(frozen=True)
class PullRequestRow:
    id: str
    repository_id: str
    number: int
    url: str | None
    author_identity_id: str | None
    state: str
    is_draft: bool
    created_at: datetime
    ready_for_review_at: datetime | None
    first_review_at: datetime | None
    merged_at: datetime | None
    closed_at: datetime | None
    additions: int | None
    deletions: int | None

    @property
    def ready_at(self) -> datetime:
        """When the pull request asked for review: ready for review, else opened."""
        return self.ready_for_review_at or self.created_at


@dataclass(frozen=True)
class Group:
    """Reviews or review comments of one pull request by one author: how many, the first."""

    pull_request_id: str
    identity_id: str | None
    first_at: datetime
    count: int


def _touches_path(path: ServicePath) -> ColumnElement[bool]:
    """A monorepo service's pull request: one of its commits touches a file under the path."""
    prefix = path.path_prefix.rstrip("/") + "/"
    touched = (
        select(literal(1))
        .select_from(PullRequestCommit)
        .join(
            Commit,
            and_(
                Commit.sha == PullRequestCommit.sha,
                Commit.repository_id == PullRequest.repository_id,
            ),
        )
        .join(CommitFile, CommitFile.commit_id == Commit.id)
        .where(
            PullRequestCommit.pull_request_id == PullRequest.id,
            CommitFile.path.startswith(prefix, autoescape=True),
        )
    )
    return and_(PullRequest.repository_id == path.repository_id, exists(touched))


def in_scope(resolved: ResolvedScope) -> ColumnElement[bool]:
    """Repository (or service path) in scope, and the author in the team when it was opened."""
    where = resolved.repository_filter(PullRequest.repository_id)
    if resolved.service_paths:
        where = or_(where, *(_touches_path(path) for path in resolved.service_paths))
    return and_(where, resolved.member_at(PullRequest.author_identity_id, PullRequest.created_at))


def _reviewed_in(window: Window) -> ColumnElement[bool]:
    reviewed = select(literal(1)).where(
        Review.pull_request_id == PullRequest.id,
        Review.submitted_at >= window.start,
        Review.submitted_at < window.end,
    )
    return exists(reviewed)


def candidate_ids(resolved: ResolvedScope, window: Window) -> Select[str]:
    """Pull requests in scope opened before the window's end and not over before its start.

    Those are all that can be merged, first reviewed or open during the window; one reviewed
    in the window after it was merged or closed is included as well.
    """
    alive = and_(
        or_(PullRequest.merged_at.is_(None), PullRequest.merged_at >= window.start),
        or_(PullRequest.closed_at.is_(None), PullRequest.closed_at >= window.start),
    )
    return select(PullRequest.id).where(
        in_scope(resolved),
        PullRequest.created_at < window.end,
        or_(alive, _reviewed_in(window)),
    )


def pull_requests(session: Session, candidates: Select[str]) -> list[PullRequestRow]:
    query = select(
        PullRequest.id,
        PullRequest.repository_id,
        PullRequest.number,
        PullRequest.url,
        PullRequest.author_identity_id,
        PullRequest.state,
        PullRequest.is_draft,
        PullRequest.created_at,
        PullRequest.ready_for_review_at,
        PullRequest.first_review_at,
        PullRequest.merged_at,
        PullRequest.closed_at,
        PullRequest.additions,
        PullRequest.deletions,
    ).where(PullRequest.id.in_(candidates))
    return [PullRequestRow(**row._asdict()) for row in session.execute(query)]


def _groups(session: Session, query: Select[Any, Any, Any, Any]) -> list[Group]:
    return [
        Group(pr_id, who, first, count)
        for pr_id, who, first, count in session.execute(query)
        if first is not None
    ]


def review_groups(session: Session, candidates: Select[str]) -> list[Group]:
    """Submitted reviews (a pending review has no submit time) per pull request and reviewer."""
    query = (
        select(
            Review.pull_request_id,
            Review.reviewer_identity_id,
            func.min(Review.submitted_at),
            func.count(),
        )
        .where(
            Review.pull_request_id.in_(candidates),
            Review.submitted_at.is_not(None),
            func.lower(Review.state) != "pending",
        )
        .group_by(Review.pull_request_id, Review.reviewer_identity_id)
    )
    return _groups(session, query)


def comment_groups(session: Session, candidates: Select[str]) -> list[Group]:
    query = (
        select(
            ReviewComment.pull_request_id,
            ReviewComment.author_identity_id,
            func.min(ReviewComment.created_at),
            func.count(),
        )
        .where(ReviewComment.pull_request_id.in_(candidates))
        .group_by(ReviewComment.pull_request_id, ReviewComment.author_identity_id)
    )
    return _groups(session, query)


def first_commits(session: Session, candidates: Select[str]) -> dict[str, datetime]:
    """Earliest authored time of each pull request's known non-merge commits."""
    query = (
        select(PullRequestCommit.pull_request_id, func.min(Commit.authored_at))
        .join(PullRequest, PullRequest.id == PullRequestCommit.pull_request_id)
        .join(
            Commit,
            and_(
                Commit.sha == PullRequestCommit.sha,
                Commit.repository_id == PullRequest.repository_id,
            ),
        )
        .where(PullRequestCommit.pull_request_id.in_(candidates), Commit.is_merge.is_(False))
        .group_by(PullRequestCommit.pull_request_id)
    )
    return {pr_id: first for pr_id, first in session.execute(query) if first is not None}


def actor_ids(candidates: Select[str]) -> list[Select[str | None]]:
    """Subqueries of every identity the pull requests, their reviews and comments name."""
    return [
        select(PullRequest.author_identity_id).where(PullRequest.id.in_(candidates)),
        select(Review.reviewer_identity_id).where(Review.pull_request_id.in_(candidates)),
        select(ReviewComment.author_identity_id).where(
            ReviewComment.pull_request_id.in_(candidates)
        ),
    ]


def repository_names(session: Session, candidates: Select[str]) -> dict[str, str]:
    query = select(Repository.id, Repository.name).where(
        Repository.id.in_(select(PullRequest.repository_id).where(PullRequest.id.in_(candidates)))
    )
    return {id_: name for id_, name in session.execute(query)}

"""Repositories, services, git history and pull requests with their reviews."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from diogen.silver.base import Base, Origin, id_column, ref


class Repository(Origin, Base):
    __tablename__ = "repository"
    __table_args__ = (UniqueConstraint("provider", "name"),)
    id: Mapped[str] = id_column()
    organization_id: Mapped[str | None] = ref("organization.id", ondelete="SET NULL")
    owning_team_id: Mapped[str | None] = ref("team.id", ondelete="SET NULL")
    provider: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(255))
    default_branch: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(2000))


class Service(Origin, Base):
    """A deployable unit; it may span repositories or be one path of a monorepo."""

    __tablename__ = "service"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)
    id: Mapped[str] = id_column()
    organization_id: Mapped[str | None] = ref("organization.id", ondelete="SET NULL")
    owning_team_id: Mapped[str | None] = ref("team.id", ondelete="SET NULL")
    name: Mapped[str] = mapped_column(String(255))


class ServiceRepository(Base):
    """Which repository (and which path inside it; '' for all of it) makes up a service."""

    __tablename__ = "service_repository"
    __table_args__ = (UniqueConstraint("service_id", "repository_id", "path_prefix"),)
    id: Mapped[str] = id_column()
    service_id: Mapped[str] = ref("service.id", nullable=False)
    repository_id: Mapped[str] = ref("repository.id", nullable=False)
    path_prefix: Mapped[str] = mapped_column(String(1000), default="")


class GitRef(Base):
    """A branch, remote branch or tag as last seen; annotated tags keep their tagger and date."""

    __tablename__ = "git_ref"
    __table_args__ = (UniqueConstraint("repository_id", "kind", "name"),)
    id: Mapped[str] = id_column()
    repository_id: Mapped[str] = ref("repository.id", nullable=False, index=False)
    name: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(20))
    commit_sha: Mapped[str] = mapped_column(String(64))
    tag_sha: Mapped[str | None] = mapped_column(String(64))
    tagger_name: Mapped[str | None] = mapped_column(String(255))
    tagger_email: Mapped[str | None] = mapped_column(String(320))
    tagged_at: Mapped[datetime | None]


# What `git revert` and GitHub's revert button write; reports look for it among deployed commits.
REVERT_CONDITION = "message LIKE '%This reverts commit %'"


class Commit(Base):
    """A commit; stats are `git log --numstat` against the first parent, None for merges."""

    __tablename__ = "git_commit"
    __table_args__ = (
        UniqueConstraint("repository_id", "sha"),
        Index("ix_git_commit_repository_id_authored_at", "repository_id", "authored_at"),
        # Incidents and reverts name a commit by sha alone.
        Index("ix_git_commit_sha", "sha"),
        # The few reverts, out of a whole history's messages.
        Index(
            "ix_git_commit_reverts",
            "id",
            sqlite_where=text(REVERT_CONDITION),
            postgresql_where=text(REVERT_CONDITION),
        ),
    )
    id: Mapped[str] = id_column()
    repository_id: Mapped[str] = ref("repository.id", nullable=False, index=False)
    sha: Mapped[str] = mapped_column(String(64))
    parents: Mapped[str] = mapped_column(Text, default="")
    author_identity_id: Mapped[str | None] = ref("identity.id", ondelete="SET NULL")
    committer_identity_id: Mapped[str | None] = ref("identity.id", ondelete="SET NULL")
    # As written in this commit: an identity keeps one name, a person may use several.
    author_name: Mapped[str] = mapped_column(String(255))
    author_email: Mapped[str] = mapped_column(String(320))
    committer_name: Mapped[str] = mapped_column(String(255))
    committer_email: Mapped[str] = mapped_column(String(320))
    authored_at: Mapped[datetime]
    author_tz_offset: Mapped[int] = mapped_column(Integer)
    committed_at: Mapped[datetime]
    committer_tz_offset: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    files_changed: Mapped[int | None] = mapped_column(Integer)
    is_merge: Mapped[bool] = mapped_column(Boolean)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)


class CommitFile(Base):
    """One file of a commit's diff to its first parent; binary files count 0 lines."""

    __tablename__ = "commit_file"
    __table_args__ = (UniqueConstraint("commit_id", "path"),)
    id: Mapped[str] = id_column()
    commit_id: Mapped[str] = ref("git_commit.id", nullable=False, index=False)
    path: Mapped[str] = mapped_column(Text)
    old_path: Mapped[str | None] = mapped_column(Text)
    additions: Mapped[int] = mapped_column(Integer)
    deletions: Mapped[int] = mapped_column(Integer)
    is_binary: Mapped[bool] = mapped_column(Boolean)


class PullRequest(Origin, Base):
    __tablename__ = "pull_request"
    __table_args__ = (UniqueConstraint("repository_id", "number"),)
    id: Mapped[str] = id_column()
    repository_id: Mapped[str] = ref("repository.id", nullable=False, index=False)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    author_identity_id: Mapped[str | None] = ref("identity.id", ondelete="SET NULL")
    state: Mapped[str] = mapped_column(String(20))
    is_draft: Mapped[bool] = mapped_column(Boolean, default=False)
    base_ref: Mapped[str | None] = mapped_column(String(1000))
    head_ref: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    ready_for_review_at: Mapped[datetime | None]
    first_review_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    merged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    merge_commit_sha: Mapped[str | None] = mapped_column(String(64), index=True)
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    labels: Mapped[list[str] | None]


class PullRequestCommit(Base):
    __tablename__ = "pull_request_commit"
    __table_args__ = (UniqueConstraint("pull_request_id", "sha"),)
    id: Mapped[str] = id_column()
    pull_request_id: Mapped[str] = ref("pull_request.id", nullable=False)
    sha: Mapped[str] = mapped_column(String(64), index=True)


class PullRequestEvent(Base):
    """A pull request's timeline: `ready_for_review`, `converted_to_draft`, `review_requested`
    and `review_request_removed`, with whom a review was asked of (a login, or `team:SLUG`)."""

    __tablename__ = "pull_request_event"
    id: Mapped[str] = id_column()
    pull_request_id: Mapped[str] = ref("pull_request.id", nullable=False)
    kind: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[datetime]
    reviewer: Mapped[str | None] = mapped_column(String(255))
    reviewer_identity_id: Mapped[str | None] = ref("identity.id", ondelete="SET NULL")


class PullRequestReviewers(Base):
    """Whom a pull request's review is asked of now (logins, `team:SLUG`), as last synced."""

    __tablename__ = "pull_request_reviewers"
    __table_args__ = (UniqueConstraint("pull_request_id"),)
    id: Mapped[str] = id_column()
    pull_request_id: Mapped[str] = ref("pull_request.id", nullable=False, index=False)
    requested: Mapped[list[str]]


class Review(Origin, Base):
    __tablename__ = "review"
    id: Mapped[str] = id_column()
    pull_request_id: Mapped[str] = ref("pull_request.id", nullable=False)
    reviewer_identity_id: Mapped[str | None] = ref("identity.id", ondelete="SET NULL")
    state: Mapped[str] = mapped_column(String(30))
    submitted_at: Mapped[datetime | None]


class ReviewComment(Origin, Base):
    __tablename__ = "review_comment"
    id: Mapped[str] = id_column()
    pull_request_id: Mapped[str] = ref("pull_request.id", nullable=False)
    review_id: Mapped[str | None] = ref("review.id", ondelete="SET NULL")
    author_identity_id: Mapped[str | None] = ref("identity.id", ondelete="SET NULL")
    path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

"""Issues from trackers, their status history, and sprints with their changing scope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from diogen.silver.base import Base, Origin, id_column, ref


class Sprint(Origin, Base):
    __tablename__ = "sprint"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[str] = id_column()
    board: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(30))
    goal: Mapped[str | None] = mapped_column(Text)
    planned_start: Mapped[datetime | None]
    planned_end: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class Issue(Origin, Base):
    __tablename__ = "issue"
    __table_args__ = (UniqueConstraint("source", "key"),)
    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(String(255))
    project: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(100))
    status_category: Mapped[str | None] = mapped_column(String(30))
    story_points: Mapped[float | None] = mapped_column(Float)
    assignee_identity_id: Mapped[str | None] = ref("identity.id", ondelete="SET NULL")
    parent_id: Mapped[str | None] = ref("issue.id", ondelete="SET NULL")
    epic_key: Mapped[str | None] = mapped_column(String(255))
    sprint_id: Mapped[str | None] = ref("sprint.id", ondelete="SET NULL")
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class IssueStatusTransition(Base):
    __tablename__ = "issue_status_transition"
    __table_args__ = (UniqueConstraint("issue_id", "changed_at", "to_status"),)
    id: Mapped[str] = id_column()
    issue_id: Mapped[str] = ref("issue.id", nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(100))
    to_status: Mapped[str] = mapped_column(String(100))
    from_category: Mapped[str | None] = mapped_column(String(30))
    to_category: Mapped[str | None] = mapped_column(String(30))
    author_identity_id: Mapped[str | None] = ref("identity.id", ondelete="SET NULL")
    changed_at: Mapped[datetime]


class SprintScopeChange(Base):
    """An issue entering or leaving a sprint's scope (`change` is 'added' or 'removed')."""

    __tablename__ = "sprint_scope_change"
    __table_args__ = (UniqueConstraint("sprint_id", "issue_id", "changed_at", "change"),)
    id: Mapped[str] = id_column()
    sprint_id: Mapped[str] = ref("sprint.id", nullable=False)
    issue_id: Mapped[str] = ref("issue.id", nullable=False)
    change: Mapped[str] = mapped_column(String(20))
    story_points: Mapped[float | None] = mapped_column(Float)
    changed_at: Mapped[datetime]


class WorkLink(Base):
    """An issue named by a change: a pull request (its branch or title) or a commit (its
    message). Recomputed from both sides whenever either arrives (`silver.work_links`)."""

    __tablename__ = "work_link"
    id: Mapped[str] = id_column()
    issue_id: Mapped[str] = ref("issue.id", nullable=False)
    issue_key: Mapped[str] = mapped_column(String(255))
    repository_id: Mapped[str] = ref("repository.id", nullable=False)
    pull_request_id: Mapped[str | None] = ref("pull_request.id")
    commit_id: Mapped[str | None] = ref("git_commit.id")
    found_in: Mapped[str] = mapped_column(String(20))  # branch | title | body | message

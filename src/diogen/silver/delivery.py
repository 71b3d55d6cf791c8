"""CI runs, deployments with the commits they shipped, and incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from diogen.silver.base import Base, Origin, id_column, ref


class PipelineRun(Origin, Base):
    __tablename__ = "pipeline_run"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[str] = id_column()
    repository_id: Mapped[str | None] = ref("repository.id")
    name: Mapped[str | None] = mapped_column(String(500))
    workflow: Mapped[str | None] = mapped_column(String(1000))
    branch: Mapped[str | None] = mapped_column(String(1000))
    sha: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(30))
    conclusion: Mapped[str | None] = mapped_column(String(30))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class PipelineJob(Origin, Base):
    __tablename__ = "pipeline_job"
    id: Mapped[str] = id_column()
    pipeline_run_id: Mapped[str] = ref("pipeline_run.id", nullable=False)
    name: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(30))
    conclusion: Mapped[str | None] = mapped_column(String(30))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Deployment(Origin, Base):
    """A deployment of `sha` to `environment`; it happens at `finished_at`.

    `fixes_deployment_id` points at the deployment this one repairs (rollback, revert, hotfix);
    `marked_failed` is a person's verdict and wins over any rule.
    """

    __tablename__ = "deployment"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_deployment_scope_finished", "repository_id", "environment", "finished_at"),
        # An incident's service's latest deployment before it (`metrics.incidents`).
        Index("ix_deployment_service_finished", "service_id", "finished_at"),
    )
    id: Mapped[str] = id_column()
    repository_id: Mapped[str | None] = ref("repository.id")
    service_id: Mapped[str | None] = ref("service.id", ondelete="SET NULL", index=False)
    environment: Mapped[str] = mapped_column(String(255))
    sha: Mapped[str] = mapped_column(String(64))
    ref_name: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(30))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    is_rollback: Mapped[bool] = mapped_column(Boolean, default=False)
    marked_failed: Mapped[bool | None] = mapped_column(Boolean)
    fixes_deployment_id: Mapped[str | None] = ref("deployment.id", ondelete="SET NULL")


# The newest deployments first, as the API lists them (nulls after values): read in index
# order instead of sorting every deployment of an organisation.
Index("ix_deployment_newest", Deployment.finished_at.desc().nulls_last(), Deployment.id.desc())


class DeploymentCommit(Base):
    """A commit first shipped by a deployment (DESIGN.md §5, deployed changes)."""

    __tablename__ = "deployment_commit"
    __table_args__ = (UniqueConstraint("deployment_id", "commit_id"),)
    id: Mapped[str] = id_column()
    deployment_id: Mapped[str] = ref("deployment.id", nullable=False, index=False)
    commit_id: Mapped[str] = ref("git_commit.id", nullable=False)


class Incident(Origin, Base):
    __tablename__ = "incident"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[str] = id_column()
    title: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str | None] = mapped_column(String(50))
    service_id: Mapped[str | None] = ref("service.id", ondelete="SET NULL")
    repository_id: Mapped[str | None] = ref("repository.id", ondelete="SET NULL")
    deployment_id: Mapped[str | None] = ref("deployment.id", ondelete="SET NULL")
    started_at: Mapped[datetime]
    detected_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    evidence: Mapped[dict[str, Any] | None]

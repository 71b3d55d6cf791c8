"""Builders for the metrics tests: silver rows written directly, with exact UTC times.

No tests live here; the metrics test modules import `Silver`, `utc` and `engine_for`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import diogen.ingest.models  # noqa: F401 - registers the bronze tables on Base
from diogen.db import make_engine
from diogen.ids import stable_id
from diogen.silver import Commit, Deployment, DeploymentCommit, Incident, Repository
from diogen.silver.base import Base


def utc(text: str) -> datetime:
    """`2024-01-03T10:00` (or a date) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC)


def engine_for(url: str) -> Engine:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    return engine


class Silver:
    """Writes repositories, commits, deployments and their links; flushes, never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def repo(self, name: str) -> str:
        repo_id = stable_id("git", "repository", name)
        self.session.add(
            Repository(id=repo_id, name=name, provider="git", source="git", external_id=name)
        )
        self.session.flush()
        return repo_id

    def commit(self, repo_id: str, sha: str, authored: str, *, merge: bool = False) -> str:
        commit_id = stable_id("git", "commit", repo_id, sha)
        when = utc(authored)
        self.session.add(
            Commit(
                id=commit_id,
                repository_id=repo_id,
                sha=sha,
                parents="p1 p2" if merge else "p1",
                author_name="Dev",
                author_email="dev@example.com",
                committer_name="Dev",
                committer_email="dev@example.com",
                authored_at=when,
                author_tz_offset=0,
                committed_at=when,
                committer_tz_offset=0,
                subject=sha,
                message=sha,
                is_merge=merge,
                reachable=True,
            )
        )
        self.session.flush()
        return commit_id

    def deploy(
        self,
        repo_id: str | None,
        name: str,
        finished: str | None,
        *,
        commits: Iterable[str] = (),
        environment: str = "production",
        status: str = "success",
        started: str | None = None,
        is_rollback: bool = False,
        marked_failed: bool | None = None,
        fixes: str | None = None,
    ) -> str:
        deployment_id = stable_id("test", "deployment", repo_id, name)
        self.session.add(
            Deployment(
                id=deployment_id,
                repository_id=repo_id,
                environment=environment,
                sha=f"sha-{name}",
                ref_name=name,
                status=status,
                started_at=utc(started) if started else None,
                finished_at=utc(finished) if finished else None,
                is_rollback=is_rollback,
                marked_failed=marked_failed,
                fixes_deployment_id=fixes,
                source="git-tag",
                external_id=f"{repo_id}:{name}",
            )
        )
        self.session.flush()
        for commit_id in commits:
            self.session.add(
                DeploymentCommit(
                    id=stable_id("test", "deployment_commit", deployment_id, commit_id),
                    deployment_id=deployment_id,
                    commit_id=commit_id,
                )
            )
        self.session.flush()
        return deployment_id

    def incident(self, name: str, deployment_id: str, started: str, resolved: str | None) -> str:
        incident_id = stable_id("test", "incident", name)
        self.session.add(
            Incident(
                id=incident_id,
                source="test",
                external_id=name,
                deployment_id=deployment_id,
                started_at=utc(started),
                resolved_at=utc(resolved) if resolved else None,
            )
        )
        self.session.flush()
        return incident_id

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
from diogen.silver import (
    Commit,
    CommitFile,
    Deployment,
    DeploymentCommit,
    Identity,
    Incident,
    Organization,
    Person,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    Service,
    ServiceRepository,
    Team,
    TeamMembership,
)
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

    def add(self, row: object) -> None:
        self.session.add(row)
        self.session.flush()

    def repo(
        self, name: str, *, org: str | None = None, team: str | None = None, provider: str = "git"
    ) -> str:
        repo_id = stable_id(provider, "repository", name)
        self.add(
            Repository(
                id=repo_id,
                name=name,
                provider=provider,
                source=provider,
                external_id=name,
                organization_id=org,
                owning_team_id=team,
            )
        )
        return repo_id

    def org(self, name: str) -> str:
        org_id = stable_id("test", "organization", name)
        self.add(Organization(id=org_id, name=name, source="test", external_id=name))
        return org_id

    def team(self, name: str, *, org: str | None = None, parent: str | None = None) -> str:
        team_id = stable_id("test", "team", org, name)
        self.add(
            Team(
                id=team_id,
                name=name,
                organization_id=org,
                parent_id=parent,
                source="test",
                external_id=name,
            )
        )
        return team_id

    def person(self, login: str, *, bot: bool = False) -> str:
        """A person with one identity; returns the identity id (what silver rows point at)."""
        person_id = stable_id("test", "person", login)
        identity_id = stable_id("test", "identity", login)
        if self.session.get(Person, person_id) is not None:
            return identity_id  # builders of several scenarios share people
        self.add(Person(id=person_id, display_name=login, is_bot=bot))
        self.add(
            Identity(
                id=identity_id,
                person_id=person_id,
                provider="github",
                key=login,
                login=login,
                is_bot=bot,
                source="test",
                external_id=login,
            )
        )
        return identity_id

    def member(self, team_id: str, login: str, since: str, until: str | None = None) -> None:
        person_id = stable_id("test", "person", login)
        self.add(
            TeamMembership(
                id=stable_id("test", "membership", team_id, person_id, since),
                team_id=team_id,
                person_id=person_id,
                valid_from=utc(since),
                valid_to=utc(until) if until else None,
            )
        )

    def service(self, name: str, parts: Iterable[tuple[str, str]] = (), **kw: str | None) -> str:
        """A service made of (repository id, path prefix) parts."""
        service_id = stable_id("test", "service", name)
        self.add(Service(id=service_id, name=name, source="test", external_id=name, **kw))
        for repo_id, prefix in parts:
            self.add(
                ServiceRepository(
                    id=stable_id("test", "service_repository", service_id, repo_id, prefix),
                    service_id=service_id,
                    repository_id=repo_id,
                    path_prefix=prefix,
                )
            )
        return service_id

    def pull_request(
        self,
        repo_id: str,
        number: int,
        *,
        created: str,
        merged: str | None,
        shas: Iterable[str] = (),
        merge_sha: str | None = None,
        ready: str | None = None,
        author: str | None = None,
        first_review: str | None = None,
    ) -> str:
        pr_id = stable_id("test", "pull_request", repo_id, number)
        self.add(
            PullRequest(
                id=pr_id,
                repository_id=repo_id,
                number=number,
                state="merged" if merged else "open",
                created_at=utc(created),
                ready_for_review_at=utc(ready) if ready else None,
                merged_at=utc(merged) if merged else None,
                merge_commit_sha=merge_sha,
                author_identity_id=author,
                first_review_at=utc(first_review) if first_review else None,
                source="test",
                external_id=f"{repo_id}#{number}",
            )
        )
        for sha in shas:
            self.add(
                PullRequestCommit(
                    id=stable_id("test", "pr_commit", pr_id, sha), pull_request_id=pr_id, sha=sha
                )
            )
        return pr_id

    def review(
        self, pr_id: str, reviewer: str | None, submitted: str, state: str = "APPROVED"
    ) -> None:
        self.add(
            Review(
                id=stable_id("test", "review", pr_id, reviewer, submitted),
                pull_request_id=pr_id,
                reviewer_identity_id=reviewer,
                state=state,
                submitted_at=utc(submitted),
                source="test",
                external_id=f"{pr_id}:{reviewer}:{submitted}",
            )
        )

    def commit(
        self,
        repo_id: str,
        sha: str,
        authored: str,
        *,
        merge: bool = False,
        author: str | None = None,
        files: Iterable[str] = (),
        tz_offset: int = 0,
        message: str | None = None,
    ) -> str:
        commit_id = stable_id("git", "commit", repo_id, sha)
        when = datetime.fromisoformat(authored)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
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
                author_identity_id=author,
                authored_at=when,
                author_tz_offset=tz_offset,
                committed_at=when,
                committer_tz_offset=tz_offset,
                subject=(message or sha).splitlines()[0],
                message=message or sha,
                is_merge=merge,
                reachable=True,
            )
        )
        self.session.flush()
        for path in files:
            self.add(
                CommitFile(
                    id=stable_id("test", "commit_file", commit_id, path),
                    commit_id=commit_id,
                    path=path,
                    additions=1,
                    deletions=0,
                    is_binary=False,
                )
            )
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
        sha: str | None = None,
        service: str | None = None,
    ) -> str:
        deployment_id = stable_id("test", "deployment", repo_id, name)
        self.session.add(
            Deployment(
                id=deployment_id,
                repository_id=repo_id,
                environment=environment,
                sha=sha or f"sha-{name}",
                service_id=service,
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

    def incident(
        self,
        name: str,
        deployment_id: str | None,
        started: str,
        resolved: str | None,
        *,
        service: str | None = None,
        repo: str | None = None,
        evidence: dict[str, object] | None = None,
    ) -> str:
        incident_id = stable_id("test", "incident", name)
        self.session.add(
            Incident(
                id=incident_id,
                source="test",
                external_id=name,
                title=name,
                deployment_id=deployment_id,
                service_id=service,
                repository_id=repo,
                started_at=utc(started),
                resolved_at=utc(resolved) if resolved else None,
                evidence=evidence,
            )
        )
        self.session.flush()
        return incident_id

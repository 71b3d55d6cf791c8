"""Silver rows for the flow tests, written with the project's idempotent upsert.

No tests live here. `FlowRows` collects rows per table; `write` stores them in foreign-key
order, optionally shuffled within each table and repeated, as a re-ingest would.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from diogen.db import make_engine, upsert
from diogen.ids import stable_id
from diogen.migrations import upgrade
from diogen.silver import (
    Commit,
    CommitFile,
    Identity,
    Issue,
    IssueStatusTransition,
    Organization,
    Person,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    ReviewComment,
    Service,
    ServiceRepository,
    Sprint,
    SprintScopeChange,
    Team,
    TeamMembership,
)
from diogen.silver.base import Base, table_of

ORDER: tuple[type[Base], ...] = (
    Organization,
    Team,
    Person,
    Identity,
    TeamMembership,
    Repository,
    Service,
    ServiceRepository,
    Commit,
    CommitFile,
    PullRequest,
    PullRequestCommit,
    Review,
    ReviewComment,
    Sprint,
    Issue,
    IssueStatusTransition,
    SprintScopeChange,
)


def utc(text: str) -> datetime:
    """`2024-01-03T10:00` (or a date) as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def maybe(text: str | None) -> datetime | None:
    return None if text is None else utc(text)


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


class FlowRows:
    """Rows by table. Methods return the id of the row they add."""

    def __init__(self) -> None:
        # Rows by table and id: adding a row twice keeps one, as an upsert would.
        self.tables: dict[type[Base], dict[str, dict[str, Any]]] = defaultdict(dict)

    def __repr__(self) -> str:
        """Every row, so a failing property test shows the data it failed on."""
        lines = [f"{model.__name__}: {row}" for model in ORDER for row in self.rows(model)]
        return "FlowRows(\n  " + "\n  ".join(lines) + "\n)"

    def rows(self, model: type[Base]) -> list[dict[str, Any]]:
        return list(self.tables.get(model, {}).values())

    def _add(self, model: type[Base], **row: Any) -> str:
        self.tables[model][row["id"]] = row
        return str(row["id"])

    def write(self, session: Session, *, seed: int | None = None, times: int = 1) -> None:
        """Upsert every table in foreign-key order, `times` over; `seed` shuffles each table.

        Rows go in one statement per table, executed for each row in the list's order.
        """
        shuffler = random.Random(seed)
        for _ in range(times):
            for model in ORDER:
                rows = self.rows(model)
                if seed is not None:
                    shuffler.shuffle(rows)
                upsert(session, table_of(model), rows)
        session.flush()

    # People and teams

    def person(self, login: str, *, bot: bool = False, person_bot: bool = False) -> str:
        person_id = self._add(
            Person,
            id=stable_id("test", "person", login),
            display_name=login,
            primary_email=f"{login}@example.com",
            is_bot=person_bot,
        )
        return self.identity(login, person_id, bot=bot)

    def identity(self, login: str, person_id: str | None, *, bot: bool = False) -> str:
        return self._add(
            Identity,
            id=stable_id("test", "identity", login),
            person_id=person_id,
            provider="github",
            key=login.lower(),
            login=login,
            email=f"{login}@example.com",
            name=login,
            is_bot=bot,
            person_locked=False,
            source="github",
            external_id=login,
            url=None,
        )

    def team(self, name: str, members: Iterable[tuple[str, str, str | None]]) -> str:
        """`members`: (login, valid from, valid to) of people added with `person`."""
        team_id = self._add(
            Team,
            id=stable_id("test", "team", name),
            organization_id=None,
            parent_id=None,
            name=name,
            source="test",
            external_id=name,
            url=None,
        )
        for login, start, end in members:
            self._add(
                TeamMembership,
                id=stable_id("test", "membership", name, login, start),
                team_id=team_id,
                person_id=stable_id("test", "person", login),
                role=None,
                valid_from=utc(start),
                valid_to=maybe(end),
            )
        return team_id

    # Code

    def repo(self, name: str) -> str:
        return self._add(
            Repository,
            id=stable_id("test", "repository", name),
            organization_id=None,
            owning_team_id=None,
            provider="github",
            name=name,
            default_branch="main",
            location=None,
            source="github",
            external_id=name,
            url=None,
        )

    def service(self, name: str, repo_id: str, path_prefix: str = "") -> str:
        """A service made of `repo_id`, or of the files under `path_prefix` in it."""
        service_id = self._add(
            Service,
            id=stable_id("test", "service", name),
            organization_id=None,
            owning_team_id=None,
            name=name,
            source="test",
            external_id=name,
            url=None,
        )
        self._add(
            ServiceRepository,
            id=stable_id("test", "service_repository", name, repo_id, path_prefix),
            service_id=service_id,
            repository_id=repo_id,
            path_prefix=path_prefix,
        )
        return service_id

    def commit_file(self, commit_id: str, path: str) -> str:
        return self._add(
            CommitFile,
            id=stable_id("test", "commit_file", commit_id, path),
            commit_id=commit_id,
            path=path,
            old_path=None,
            additions=1,
            deletions=0,
            is_binary=False,
        )

    def commit(self, repo_id: str, sha: str, authored: str, *, merge: bool = False) -> str:
        when = utc(authored)
        return self._add(
            Commit,
            id=stable_id("test", "commit", repo_id, sha),
            repository_id=repo_id,
            sha=sha,
            parents="p1 p2" if merge else "p1",
            author_identity_id=None,
            committer_identity_id=None,
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
            additions=1,
            deletions=0,
            files_changed=1,
            is_merge=merge,
            reachable=True,
        )

    def pr(
        self,
        repo_id: str,
        number: int,
        author: str | None,
        created: str,
        *,
        ready: str | None = None,
        merged: str | None = None,
        closed: str | None = None,
        draft: bool = False,
        state: str | None = None,
        size: tuple[int | None, int | None] = (1, 0),
        commits: Iterable[str] = (),
        first_review: str | None = None,
    ) -> str:
        pr_id = self._add(
            PullRequest,
            id=stable_id("test", "pull_request", repo_id, number),
            repository_id=repo_id,
            number=number,
            title=f"PR {number}",
            author_identity_id=author,
            state=state or ("merged" if merged else "closed" if closed else "open"),
            is_draft=draft,
            base_ref="main",
            head_ref=f"topic-{number}",
            created_at=utc(created),
            ready_for_review_at=maybe(ready),
            first_review_at=maybe(first_review),
            approved_at=None,
            merged_at=maybe(merged),
            closed_at=maybe(closed or merged),
            merge_commit_sha=None,
            additions=size[0],
            deletions=size[1],
            labels=None,
            source="github",
            external_id=str(number),
            url=f"https://example.com/pull/{number}",
        )
        for sha in commits:
            self._add(
                PullRequestCommit,
                id=stable_id("test", "pr_commit", pr_id, sha),
                pull_request_id=pr_id,
                sha=sha,
            )
        return pr_id

    def review(
        self, pr_id: str, reviewer: str | None, submitted: str | None, state: str = "APPROVED"
    ) -> str:
        return self._add(
            Review,
            id=stable_id("test", "review", pr_id, reviewer, submitted, state),
            pull_request_id=pr_id,
            reviewer_identity_id=reviewer,
            state=state,
            submitted_at=maybe(submitted),
            source="github",
            external_id=None,
            url=None,
        )

    def comment(self, pr_id: str, author: str | None, created: str) -> str:
        return self._add(
            ReviewComment,
            id=stable_id("test", "comment", pr_id, author, created),
            pull_request_id=pr_id,
            review_id=None,
            author_identity_id=author,
            path="src/app.py",
            created_at=utc(created),
            source="github",
            external_id=None,
            url=None,
        )

    # Work

    def sprint(
        self,
        name: str,
        *,
        started: str | None,
        completed: str | None,
        planned: tuple[str | None, str | None] = (None, None),
        key: str | None = None,
    ) -> str:
        """A sprint on board ENG; `key` (default: the name) makes its id."""
        return self._add(
            Sprint,
            id=stable_id("test", "sprint", key or name),
            board="ENG",
            name=name,
            state="closed" if completed else "active" if started else "future",
            goal=None,
            planned_start=maybe(planned[0]),
            planned_end=maybe(planned[1]),
            started_at=maybe(started),
            completed_at=maybe(completed),
            source="jira",
            external_id=key or name,
            url=None,
        )

    def issue(
        self,
        key: str,
        created: str,
        *,
        resolved: str | None = None,
        status: str = "To Do",
        category: str | None = "new",
        points: float | None = None,
        assignee: str | None = None,
        sprint: str | None = None,
        moves: Iterable[tuple[str, str, str, str | None, str | None]] = (),
    ) -> str:
        """`moves`: (time, from status, to status, from category, to category)."""
        issue_id = self._add(
            Issue,
            id=stable_id("test", "issue", key),
            key=key,
            project=key.split("-")[0],
            title=key,
            type="Story",
            status=status,
            status_category=category,
            story_points=points,
            assignee_identity_id=assignee,
            parent_id=None,
            epic_key=None,
            sprint_id=sprint,
            created_at=utc(created),
            resolved_at=maybe(resolved),
            source="jira",
            external_id=key,
            url=None,
        )
        for at, before, after, before_category, after_category in moves:
            self._add(
                IssueStatusTransition,
                id=stable_id("test", "transition", key, at, after),
                issue_id=issue_id,
                from_status=before,
                to_status=after,
                from_category=before_category,
                to_category=after_category,
                author_identity_id=None,
                changed_at=utc(at),
            )
        return issue_id

    def scope(
        self, sprint_id: str, issue_id: str, change: str, at: str, points: float | None
    ) -> str:
        return self._add(
            SprintScopeChange,
            id=stable_id("test", "scope", sprint_id, issue_id, at, change),
            sprint_id=sprint_id,
            issue_id=issue_id,
            change=change,
            story_points=points,
            changed_at=utc(at),
        )

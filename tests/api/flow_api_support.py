"""Flow rows for the API tests, added to the rows of `api_support.seed`. No tests live here.

In the seeded repository the team's member (person 0) opens two pull requests; person 1
reviews the first. In one sprint the member holds two issues. Hand-computed figures over the
window 2024-02-01 to 2024-03-02 (now: 2024-03-01 12:00) are in the constants below.
"""

from __future__ import annotations

from datetime import UTC, datetime

from api_support import Rows
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.ids import stable_id
from diogen.silver import (
    Commit,
    DeploymentCommit,
    Identity,
    Issue,
    PullRequest,
    PullRequestCommit,
    Review,
    Sprint,
)

WINDOW = "from=2024-02-01&to=2024-03-02"
MERGED = 1  # #1, merged 02-28 09:00
PER_WEEK = 0.23  # 1 / (30 days / 7)
FIRST_REVIEW_HOURS = 4.0  # #1 opened 02-27 13:00, reviewed 17:00
OPEN_AGE_HOURS = 123.0  # #2 opened 02-25 09:00, open at now (03-01 12:00; 2024 is a leap year)
SIZE_LINES = 25.0  # #1: 20 + 5
# #1 holds the seeded commit (authored 02-27 12:00), deployed 02-29 12:00:
STAGE_HOURS = {"coding_hours": 1.0, "pickup_hours": 4.0, "review_hours": 16.0, "deploy_hours": 27.0}
LEAD_TIME_HOURS = 48.0
COMMITTED_POINTS, COMPLETED_POINTS, CARRY_OVER_POINTS = 8.0, 3.0, 5.0


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _identity(session: Session, person_id: str) -> str:
    found = session.scalar(select(Identity.id).where(Identity.person_id == person_id))
    assert found is not None
    return found


def _pull(rows: Rows, number: int, author: str, created: str, merged: str | None) -> PullRequest:
    return PullRequest(
        id=stable_id("test", "pull_request", rows.repo, number),
        repository_id=rows.repo,
        number=number,
        author_identity_id=author,
        state="merged" if merged else "open",
        is_draft=False,
        created_at=utc(created),
        merged_at=utc(merged) if merged else None,
        additions=20,
        deletions=5,
        source="test",
        external_id=f"{rows.repo}#{number}",
    )


def _issue(rows: Rows, key: str, assignee: str, sprint: str, points: float, done: bool) -> Issue:
    return Issue(
        id=stable_id("test", "issue", rows.repo, key),
        key=f"{key}-{rows.repo[:8]}",
        status="Done" if done else "To Do",
        status_category="done" if done else "new",
        story_points=points,
        assignee_identity_id=assignee,
        sprint_id=sprint,
        created_at=utc("2024-02-01T00:00"),
        resolved_at=utc("2024-02-10T00:00") if done else None,
        source="test",
        external_id=key,
    )


def seed_flow(session: Session, rows: Rows) -> str:
    """Pull requests, a review, a sprint and its issues; returns the sprint's id."""
    author = _identity(session, rows.person)
    reviewer = _identity(session, rows.other_person)
    first = _pull(rows, 1, author, "2024-02-27T13:00", "2024-02-28T09:00")
    second = _pull(rows, 2, author, "2024-02-25T09:00", None)
    session.add_all([first, second])
    session.flush()
    session.add(
        Review(
            id=stable_id("test", "review", first.id),
            pull_request_id=first.id,
            reviewer_identity_id=reviewer,
            state="APPROVED",
            submitted_at=utc("2024-02-27T17:00"),
            source="test",
            external_id=first.id,
        )
    )
    sha = session.get_one(Commit, rows.commit).sha
    session.add_all(
        [
            PullRequestCommit(
                id=stable_id("test", "pull_request_commit", first.id),
                pull_request_id=first.id,
                sha=sha,
            ),
            DeploymentCommit(
                id=stable_id("test", "deployment_commit", rows.deployment),
                deployment_id=rows.deployment,
                commit_id=rows.commit,
            ),
        ]
    )
    sprint = Sprint(
        id=stable_id("test", "sprint", rows.repo),
        name=f"S-{rows.repo[:8]}",
        state="closed",
        started_at=utc("2024-02-05T00:00"),
        completed_at=utc("2024-02-16T00:00"),
        source="test",
        external_id=rows.repo,
    )
    session.add(sprint)
    session.flush()
    session.add_all(
        [
            _issue(rows, "A-1", author, sprint.id, 3.0, True),
            _issue(rows, "A-2", author, sprint.id, 5.0, False),
        ]
    )
    session.flush()
    return sprint.id

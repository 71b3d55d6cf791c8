"""Pull request timelines and requested reviewers: from the GraphQL sync and from webhooks,
into the same rows; counts worked out from the fake's records (`Examples._timeline`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from diogen.connectors.github.context import RepoContext
from diogen.db import session_scope
from diogen.ingest.runner import SyncResult
from diogen.ingest.webhooks import receive_github
from diogen.silver import PullRequest, PullRequestEvent, PullRequestReviewers
from diogen.silver.keys import identity_id
from diogen.testing.fake_github import FakeGitHub

Sync = Callable[..., SyncResult]
SECRET = "timeline-secret"
EXAMPLES = "octokit-webhooks/payload-examples/api.github.com/pull_request"


def events(engine: Engine) -> list[tuple[int, str, datetime, str | None, str | None]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                PullRequest.number,
                PullRequestEvent.kind,
                PullRequestEvent.occurred_at,
                PullRequestEvent.reviewer,
                PullRequestEvent.reviewer_identity_id,
            ).join(PullRequest, PullRequest.id == PullRequestEvent.pull_request_id)
        ).all()
        return sorted(tuple(row) for row in rows)  # type: ignore[misc]


def test_timeline_and_requested_reviewers_from_the_sync(
    fake: FakeGitHub, sync: Sync, engine: Engine
) -> None:
    fake.add(fake.examples.repository("octo/app", pull_requests=30))
    sync(repos=["octo/app"], clone=False)
    found = events(engine)
    kinds = [kind for _, kind, *_ in found]
    # Every pull request: review asked of reviewer0 at creation (30). Opened as drafts (#7, #14,
    # #21, #28), ready 3 h later unless still a draft (#28 is open and draft): 3. Request
    # withdrawn 30 min after it for #6, #12, #18, #24, #30: 5.
    assert (kinds.count("review_requested"), kinds.count("ready_for_review")) == (30, 3)
    assert kinds.count("review_request_removed") == 5 and len(found) == 38
    reviewer0 = identity_id(f"github@{fake.url.removeprefix('http://')}", "reviewer0")
    with session_scope(engine) as session:
        pr6 = session.scalars(select(PullRequest).where(PullRequest.number == 6)).one()
        created = pr6.created_at
        assert [e for e in found if e[0] == 6] == [
            (6, "review_request_removed", created + timedelta(minutes=30), "reviewer0", reviewer0),
            (6, "review_requested", created, "reviewer0", reviewer0),
        ]
        ready = [e for e in found if e[0] == 7 and e[1] == "ready_for_review"]
        pr7 = session.scalars(select(PullRequest).where(PullRequest.number == 7)).one()
        assert [e[2] for e in ready] == [pr7.ready_for_review_at]
        requested = {tuple(r.requested) for r in session.scalars(select(PullRequestReviewers))}
        # GitHub's example pull request asks other_user and the team justice-league.
        assert requested == {("other_user", "team:justice-league")}
    sync(repos=["octo/app"], clone=False)
    assert events(engine) == found  # a re-sync writes the same rows


def test_webhook_timeline_actions_write_the_same_rows(shared_data: Path, engine: Engine) -> None:
    root = shared_data / EXAMPLES
    for number, action in enumerate(
        [
            "opened",
            "review_requested",
            "review_request_removed",
            "converted_to_draft",
            "ready_for_review",
        ]
    ):
        body = (root / f"{action}.payload.json").read_bytes()
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": f"delivery-{number}",
            "X-Hub-Signature-256": f"sha256={digest}",
        }
        with session_scope(engine) as session:
            receive_github(session, headers, body, SECRET)
    requested = json.loads((root / "review_requested.payload.json").read_text())
    ctx = RepoContext("github", requested["repository"]["full_name"])
    with session_scope(engine) as session:
        stored = session.scalars(select(PullRequestEvent)).all()
        kinds = sorted(e.kind for e in stored)
        assert kinds == [
            "converted_to_draft",
            "ready_for_review",
            "review_request_removed",
            "review_requested",
        ]
        asked = next(e for e in stored if e.kind == "review_requested")
        login = requested["requested_reviewer"]["login"]
        assert asked.reviewer == login
        assert asked.reviewer_identity_id == identity_id("github", login.lower())
        assert asked.occurred_at == datetime.fromisoformat(requested["pull_request"]["updated_at"])
        assert asked.pull_request_id == ctx.pull_request_id(requested["pull_request"]["number"])

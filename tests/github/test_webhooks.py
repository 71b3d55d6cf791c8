"""Webhooks: every example delivery of every handled event, signed, through `receive_github`."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from diogen.connectors.github import DeploymentRules
from diogen.connectors.github.events import HANDLED
from diogen.db import session_scope
from diogen.ingest.models import QuarantinedRecord, RawRecord
from diogen.ingest.webhooks import (
    WebhookPayloadError,
    WebhookSignatureError,
    receive_github,
)
from diogen.silver import (
    Deployment,
    GitRef,
    Issue,
    PipelineJob,
    PipelineRun,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
)
from diogen.testing.gold_check import gold_agrees_with_silver

SECRET = "It's a Secret to Everybody"
EXAMPLES = "octokit-webhooks/payload-examples/api.github.com"


def signed(body: bytes, event: str, delivery: str, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def deliveries(shared_data: Path) -> list[tuple[str, Path]]:
    root = shared_data / EXAMPLES
    return [
        (event, path) for event in sorted(HANDLED) for path in sorted((root / event).glob("*.json"))
    ]


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def replay_all(engine: Engine, shared_data: Path) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for event, path in deliveries(shared_data):
        body = path.read_bytes()
        delivery = f"{event}/{path.name}"
        result = receive_github(
            engine, signed(body, event, delivery), body, SECRET, rules=lambda _: RULES
        )
        statuses[result.status] = statuses.get(result.status, 0) + 1
    return statuses


RULES = DeploymentRules(workflow_pattern=r"test\.yml$", releases=True)


def test_every_example_delivery_is_stored_and_normalised(engine: Engine, shared_data: Path) -> None:
    statuses = replay_all(engine, shared_data)
    total = len(deliveries(shared_data))
    # 17 events: 6 push, 28 pull_request, 28 issues, 12 release, 5 team, 4 membership, ...
    assert total == 129
    assert statuses == {"processed": total}
    assert count(engine, RawRecord) == total
    assert count(engine, QuarantinedRecord) == 0
    # Each delivery refreshed gold for the repositories it wrote; it serves silver's numbers.
    agrees, known = gold_agrees_with_silver(engine)
    assert agrees and known.fresh
    with session_scope(engine) as session:
        assert set(session.scalars(select(Repository.name))) == {
            "Codertocat/Hello-World",
            "octo-org/octo-repo",
            "wolfy1339/github-events-schemas",
            "lineville/elastic-machines-testing",
            "Octocoders/Hello-World",  # a team's repository (the ping's carries nothing)
        }
        pr = session.scalars(select(PullRequest)).one()
        # PR #2's last delivery in name order (unlocked.with-organization) shows it open.
        assert (pr.number, pr.state, pr.is_draft, pr.labels) == (2, "open", False, ["bug"])
        assert pr.title == "Update the README with new information."
        # Opened ready for review (opened.payload.json: draft false, created 15:20:33).
        assert pr.ready_for_review_at == datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC)
        review = session.scalars(select(Review)).one()
        assert (review.external_id, review.state) == ("237895671", "COMMENTED")
        assert pr.first_review_at is None  # its only review is by its own author
        # created, deleted, then edited (name order): the edit brings the comment back.
        comment = session.scalars(select(ReviewComment)).one()
        assert (comment.external_id, comment.path, comment.review_id) == (
            "284312630",
            "README.md",
            review.id,
        )
        deployments = session.scalars(select(Deployment).order_by(Deployment.source)).all()
        # gh-pages is not production; release 0.0.1's tag was never pushed, so it has no sha.
        assert [(d.source, d.environment, d.status, d.sha[:8]) for d in deployments] == [
            ("github", "production", "success", "f95f852b"),
            ("github:actions", "production", "action_required", "3484a3fb"),
        ]
        assert deployments[0].finished_at == datetime(2019, 5, 15, 15, 20, 55, tzinfo=UTC)
        runs = {
            r.external_id: (r.status, r.conclusion) for r in session.scalars(select(PipelineRun))
        }
        assert runs == {
            "289782451": ("completed", "action_required"),  # workflow_run deliveries
            "2202229078": ("completed", None),  # placeholders for the jobs' runs
            "5373506832": ("in_progress", None),
            "4747967848": ("waiting", None),
        }
        assert count(engine, PipelineJob) == 3
        assert count(engine, GitRef) == 0  # simple-tag: pushed deleted, deleted again
        issues = {i.key: (i.status, i.type) for i in session.scalars(select(Issue))}
        # Issue #2 of the milestone deliveries is a pull request.
        assert issues == {
            "Codertocat/Hello-World#1": ("open", "bug"),
            "octo-org/octo-repo#1": ("open", "issue"),
        }


def test_replaying_twice_stores_nothing_new(engine: Engine, shared_data: Path) -> None:
    replay_all(engine, shared_data)
    before = {m: count(engine, m) for m in (RawRecord, PullRequest, Review, Deployment, Issue)}
    statuses = replay_all(engine, shared_data)
    assert statuses == {"duplicate": len(deliveries(shared_data))}
    assert {m: count(engine, m) for m in before} == before


def test_bad_signature_stores_nothing(engine: Engine, shared_data: Path) -> None:
    body = (shared_data / EXAMPLES / "ping" / "payload.json").read_bytes()
    headers = signed(body, "ping", "d-1", secret="wrong")
    with pytest.raises(WebhookSignatureError) as raised:
        receive_github(engine, headers, body, SECRET)
    assert raised.value.http_status == 401
    missing = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    with pytest.raises(WebhookSignatureError):
        receive_github(engine, missing, body, SECRET)
    assert count(engine, RawRecord) == count(engine, QuarantinedRecord) == 0


def test_malformed_body_is_quarantined(engine: Engine) -> None:
    body = b'{"action": "opened", "pull_request": '
    with pytest.raises(WebhookPayloadError) as raised:
        receive_github(engine, signed(body, "pull_request", "d-2"), body, SECRET)
    assert raised.value.http_status == 400
    assert count(engine, RawRecord) == 0
    with session_scope(engine) as session:
        kept = session.scalars(select(QuarantinedRecord)).one()
    assert kept.natural_key == "d-2" and json.loads(kept.payload)["body"] == body.decode()


def test_unreadable_event_is_quarantined(engine: Engine) -> None:
    body = json.dumps(
        {
            "action": "opened",
            "repository": {"full_name": "o/r", "html_url": "https://github.com/o/r", "id": 1},
        }
    ).encode()
    with pytest.raises(WebhookPayloadError, match="KeyError"):
        receive_github(engine, signed(body, "pull_request", "d-3"), body, SECRET)
    assert count(engine, QuarantinedRecord) == 1


def test_unknown_event_is_kept_and_accepted(engine: Engine, shared_data: Path) -> None:
    body = (shared_data / EXAMPLES / "star" / "created.payload.json").read_bytes()
    result = receive_github(engine, signed(body, "star", "d-4"), body, SECRET)
    assert (result.status, result.http_status) == ("accepted", 202)
    assert count(engine, RawRecord) == 1


def test_release_deploys_a_known_tag(engine: Engine, shared_data: Path) -> None:
    """A tag pushed, then its release published: a release deployment of the tag's commit."""
    push = json.loads(
        (shared_data / EXAMPLES / "push" / "with-new-branch.payload.json").read_text()
    )
    push.update(ref="refs/tags/0.0.1", deleted=False)
    body = json.dumps(push).encode()
    receive_github(engine, signed(body, "push", "p-1"), body, SECRET)
    body = (shared_data / EXAMPLES / "release" / "published.payload.json").read_bytes()
    receive_github(engine, signed(body, "release", "r-1"), body, SECRET, rules=lambda _: RULES)
    with session_scope(engine) as session:
        deployment = session.scalars(select(Deployment)).one()
    assert (deployment.ref_name, deployment.sha) == ("0.0.1", push["after"])
    assert deployment.finished_at == datetime(2019, 5, 15, 15, 20, 53, tzinfo=UTC)

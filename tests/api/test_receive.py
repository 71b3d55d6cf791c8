"""POST /api/v1/webhooks/github and POST /api/v1/ingest/{source} through the HTTP application."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import ORGS, World, make_world, seed
from sqlalchemy import func, select

from diogen.ingest.models import RawRecord
from diogen.silver import Deployment, Incident, Service

V = "/api/v1"
SECRET = "It's a Secret to Everybody"


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    made = make_world(database_url, github_webhook_secret=SECRET)
    yield made
    made.close()


def _delivery(shared_data: Path, event: str) -> bytes:
    folder = shared_data / "octokit-webhooks/payload-examples/api.github.com" / event
    return sorted(folder.glob("*.json"))[0].read_bytes()


def _signed(body: bytes, event: str, delivery: str, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def _raw_count(world: World) -> int:
    with world.session() as session:
        return session.scalar(select(func.count()).select_from(RawRecord)) or 0


def test_github_webhook_signed_unsigned_and_repeated(world: World, shared_data: Path) -> None:
    body = _delivery(shared_data, "deployment")
    url = f"{V}/webhooks/github"

    forged = world.client.post(url, content=body, headers=_signed(body, "deployment", "d1", "x"))
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert _raw_count(world) == 0  # nothing stored

    first = world.client.post(url, content=body, headers=_signed(body, "deployment", "d1"))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "processed" and first.json()["rows"] > 0
    assert _raw_count(world) == 1
    again = world.client.post(url, content=body, headers=_signed(body, "deployment", "d1"))
    assert again.json()["status"] == "duplicate"

    odd = json.dumps({"zen": "Keep it logically awesome."}).encode()
    unknown = world.client.post(url, content=odd, headers=_signed(odd, "sponsorship", "d2"))
    assert unknown.status_code == 202


def test_github_webhooks_are_off_without_a_secret(database_url: str, shared_data: Path) -> None:
    world = make_world(database_url)
    try:
        body = _delivery(shared_data, "ping")
        answer = world.client.post(
            f"{V}/webhooks/github", content=body, headers=_signed(body, "ping", "p1")
        )
        assert answer.status_code == 401
        assert "DIOGEN_GITHUB_WEBHOOK_SECRET" in answer.json()["detail"]
    finally:
        world.close()


def _push(world: World, who: str, *events: dict[str, object], source: str = "ci") -> Any:
    return world.client.post(
        f"{V}/ingest/{source}", json={"events": list(events)}, headers=world.headers(who)
    )


def _errors(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [rejected["error"] for rejected in answer.json()["rejected"]]


def test_ingest_takes_the_maintainer_role(world: World) -> None:
    event = {"type": "incident", "id": "pd-1", "started_at": "2024-01-05T00:00:00Z"}
    bad = {"type": "incident", "id": "pd-2"}
    root = _push(world, "root", event, bad, source="pagerduty")
    assert root.json()["accepted"] == 1
    assert root.json()["rejected"][0]["id"] == "pd-2"
    assert _push(world, "alpha:viewer", event).status_code == 403
    assert world.client.post(f"{V}/ingest/pd", json={"events": [event]}).status_code == 401
    assert _push(world, "root").status_code == 400  # no events


def _pushes(world: World, who: str, organization: str | None = None) -> list[dict[str, Any]]:
    query = f"?organization_id={organization}" if organization else ""
    answer = world.get(who, f"{V}/audit{query}")
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["items"] if e["action"] == "ingest.push"]


def test_a_push_is_audited_with_its_counts(world: World) -> None:
    """Who pushed to which source, and how many events were taken: never the events."""
    with world.session() as session:
        alpha = seed(session, world.org_ids["alpha"])
    event = {"type": "incident", "id": "pd-1", "started_at": "2024-01-05T00:00:00Z"}
    bad = {"type": "incident", "id": "pd-2", "title": "secret outage"}
    assert _push(world, "root", event, bad, source="pagerduty").json()["accepted"] == 1
    (entry,) = _pushes(world, "root")
    assert (entry["target_type"], entry["target_id"]) == ("ingest", "pagerduty")
    assert entry["changes"] == {"accepted": 1, "rejected": 1}
    assert entry["user_id"] == world.user_ids["root"] and entry["organization_id"] is None
    assert "secret outage" not in json.dumps(entry)
    # A maintainer of one organisation pushes into it: its admins see the entry.
    ours = {"type": "deployment", "id": "d-1", "repository": alpha.repo_name, "sha": "ab" * 20}
    assert _errors(_push(world, "alpha:maintainer", ours)) == []
    (theirs,) = _pushes(world, "alpha:admin", world.org_ids["alpha"])
    assert theirs["user_id"] == world.user_ids["alpha:maintainer"]
    assert (theirs["target_id"], theirs["changes"]) == ("ci", {"accepted": 1, "rejected": 0})
    # A refused push (no events) writes no entry.
    assert _push(world, "root").status_code == 400
    assert len(_pushes(world, "root")) == 2


def test_an_organisations_maintainer_pushes_only_into_that_organisation(world: World) -> None:
    with world.session() as session:
        alpha, beta = seed(session, world.org_ids["alpha"]), seed(session, world.org_ids["beta"])
    sha = "ab" * 20
    ours = {"type": "deployment", "id": "d-1", "repository": alpha.repo_name, "sha": sha}
    theirs = {**ours, "id": "d-2", "repository": beta.repo_name}
    assert _errors(_push(world, "alpha:maintainer", ours, theirs)) == [
        f"unknown repository {beta.repo_name!r}: sync it before sending its events"
    ]
    # The same source and id from the other organisation neither overwrites nor reveals it.
    hijack = {**ours, "repository": beta.repo_name, "sha": "cd" * 20}
    assert _errors(_push(world, "beta:maintainer", hijack)) == [
        "deployment 'd-1' of this source belongs to another organisation: send your events "
        "under a source name of your own"
    ]
    linked = {"type": "incident", "id": "i-1", "repository": beta.repo_name}
    linked |= {"started_at": "2024-03-01T00:00:00Z", "deployment": "d-1"}
    assert _errors(_push(world, "beta:maintainer", linked)) == [
        "unknown linked deployment 'd-1' from this source"
    ]
    nowhere = {"type": "incident", "id": "i-2", "started_at": "2024-03-01T00:00:00Z"}
    assert _errors(_push(world, "alpha:admin", nowhere)) == [
        "name the event's repository or service: it has no organisation"
    ]
    with world.session() as session:
        stored = session.scalars(select(Deployment).where(Deployment.source == "ingest:ci")).all()
        assert [(d.external_id, d.repository_id, d.sha) for d in stored] == [
            ("d-1", alpha.repo, sha)
        ]
    listed = {
        org: {
            d["external_id"] for d in world.get(f"{org}:viewer", f"{V}/deployments").json()["items"]
        }
        for org in ORGS
    }
    assert "d-1" in listed["alpha"] and "d-1" not in listed["beta"]


def test_a_service_first_named_by_an_organisation_joins_it(world: World) -> None:
    started = {"type": "incident", "started_at": "2024-03-01T00:00:00Z", "service": "checkout"}
    for org in ORGS:
        assert _errors(_push(world, f"{org}:maintainer", {**started, "id": f"i-{org}"})) == []
    with world.session() as session:
        services = session.execute(
            select(Service.organization_id, Service.name).where(Service.name == "checkout")
        ).all()
        assert sorted(services) == sorted((world.org_ids[org], "checkout") for org in ORGS)
        incidents = session.execute(
            select(Incident.external_id, Service.organization_id).join(
                Service, Service.id == Incident.service_id
            )
        ).all()
        assert sorted(incidents) == sorted((f"i-{org}", world.org_ids[org]) for org in ORGS)


def test_unreadable_delivery_is_quarantined(world: World) -> None:
    from diogen.ingest.models import QuarantinedRecord

    body = b"{not json"
    answer = world.client.post(
        f"{V}/webhooks/github", content=body, headers=_signed(body, "push", "bad-1")
    )
    assert answer.status_code == 400
    with world.session() as session:
        assert session.scalar(select(func.count()).select_from(QuarantinedRecord)) == 1


def test_github_webhook_applies_the_github_section(database_url: str, shared_data: Path) -> None:
    """The route normalises by the `[github]` rules: the `bug` label makes an incident, and
    github-pages is this repository's production environment (its name in any case)."""
    github = {
        "incident_labels": ["bug"],
        "repositories": {"codertocat/hello-world": {"environment_pattern": "^github-pages$"}},
    }
    world = make_world(database_url, github_webhook_secret=SECRET, github=github)
    try:
        url = f"{V}/webhooks/github"
        for event in ("issues", "deployment"):
            body = _delivery(shared_data, event)
            answer = world.client.post(url, content=body, headers=_signed(body, event, event))
            assert answer.status_code == 200, answer.text
        with world.session() as session:
            incident = session.scalars(select(Incident)).one()
            assert incident.evidence == {"issue": "Codertocat/Hello-World#1", "rule": "label:bug"}
            assert session.scalars(select(Deployment.environment)).one() == "github-pages"
    finally:
        world.close()


def test_github_webhook_with_invalid_github_section(database_url: str, shared_data: Path) -> None:
    world = make_world(
        database_url, github_webhook_secret=SECRET, github={"incident_label": ["bug"]}
    )
    try:
        body = _delivery(shared_data, "issues")
        answer = world.client.post(
            f"{V}/webhooks/github", content=body, headers=_signed(body, "issues", "d1")
        )
        assert answer.status_code == 400
        assert "invalid [github] settings" in answer.json()["detail"]
        assert _raw_count(world) == 0
    finally:
        world.close()

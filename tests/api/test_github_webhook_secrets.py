"""GitHub webhooks signed with a secret per source: each GitHub connection's `webhook_secret`,
beside (or instead of) the instance's DIOGEN_GITHUB_WEBHOOK_SECRET."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import World, make_world
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from diogen.ingest.models import RawRecord

KEY = Fernet.generate_key().decode()
HOOK = "/api/v1/webhooks/github"


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    made = make_world(database_url, secret_key=KEY)
    yield made
    made.close()


def _connection(world: World, name: str, secret: str, enabled: bool = True) -> None:
    body = {
        "kind": "github",
        "name": name,
        # One GitHub (Enterprise) host each: a source is fed by one connection.
        "options": {"repos": [f"{name}/app"], "api_url": f"https://{name}.example/api/v3"},
        "secrets": {"token": "ghp_x", "webhook_secret": secret},
        "enabled": enabled,
    }
    answer = world.client.post("/api/v1/connections", json=body, headers=world.headers("root"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["secrets"]["webhook_secret"]["set"] is True
    assert secret not in answer.text


def _send(world: World, body: bytes, secret: str, delivery: str) -> Any:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }
    return world.client.post(HOOK, content=body, headers=headers)


def _stored(world: World) -> int:
    with world.session() as session:
        return session.scalar(select(func.count()).select_from(RawRecord)) or 0


def test_each_connection_verifies_its_own_deliveries(world: World, shared_data: Path) -> None:
    folder = shared_data / "octokit-webhooks/payload-examples/api.github.com/ping"
    body = sorted(folder.glob("*.json"))[0].read_bytes()
    off = _send(world, body, "anything", "d0")
    assert off.status_code == 401 and "webhook_secret" in off.json()["detail"]

    _connection(world, "alpha", "alpha-hook-secret")
    _connection(world, "beta", "beta-hook-secret")
    _connection(world, "gamma", "gamma-hook-secret", enabled=False)
    assert _send(world, body, "alpha-hook-secret", "d1").status_code == 200
    assert _send(world, body, "beta-hook-secret", "d2").status_code == 200
    # A disabled connection's secret, or nobody's, is refused and nothing is stored.
    assert _send(world, body, "gamma-hook-secret", "d3").status_code == 401
    assert _send(world, body, "forged", "d4").status_code == 401
    assert _stored(world) == 2


def test_the_instance_secret_and_connections_secrets_both_work(
    database_url: str, shared_data: Path
) -> None:
    world = make_world(database_url, secret_key=KEY, github_webhook_secret="instance-secret")
    try:
        folder = shared_data / "octokit-webhooks/payload-examples/api.github.com/ping"
        body = sorted(folder.glob("*.json"))[0].read_bytes()
        _connection(world, "alpha", "alpha-hook-secret")
        assert _send(world, body, "instance-secret", "d1").status_code == 200
        assert _send(world, body, "alpha-hook-secret", "d2").status_code == 200
        assert _send(world, body, "beta-hook-secret", "d3").status_code == 401
    finally:
        world.close()

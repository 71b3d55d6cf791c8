"""Health, readiness, metrics, rate limits (in-process and Redis), body limits, CORS, JSON logs."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from api_support import NOW, World, clean_redis, make_world, redis_url, settings_for
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import event, text

from diogen.api import create_app
from diogen.api.ratelimit import Limit, RedisLimiter
from diogen.db import POOL_CONNECTIONS, session_scope
from diogen.ingest.models import SyncRun
from diogen.logs import JsonFormatter

V = "/api/v1"


def test_health_ready_and_metrics(world: World) -> None:
    assert world.client.get("/health").json() == {"status": "ok"}
    assert world.client.get("/ready").json()["checks"] == {
        "database": "ok",
        "bus": "ok",
        "redis": "not configured",
    }
    world.get("alpha:viewer", f"{V}/teams/some-id")
    with session_scope(world.engine) as session:
        session.add_all(
            SyncRun(
                id=f"run{n}",
                source="git:repo",
                started_at=NOW + timedelta(hours=n),
                finished_at=NOW + timedelta(hours=n),
                status=status,
                records=7,
            )
            for n, status in enumerate(["succeeded", "failed", "failed"])
        )

    exposition = world.client.get("/metrics").text

    assert 'route="/api/v1/teams/{team_id}"' in exposition
    assert "diogen_http_request_duration_seconds_bucket" in exposition
    # The pipeline's figures, as `diogen status --format prometheus` gives them.
    assert 'diogen_sync_failures{source="git:repo"} 2.0' in exposition
    assert 'diogen_sync_last_records{source="git:repo"} 7.0' in exposition
    assert 'diogen_bus_lag_events{group="silver",topic="git.commits"} 0.0' in exposition
    assert "diogen_stale_gold_windows 0.0" in exposition
    assert "diogen_pipeline_figures_up 1" in exposition


def test_an_unreachable_broker_fails_readiness_and_leaves_the_http_metrics(
    database_url: str,
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    made = make_world(database_url, bus="kafka", kafka_bootstrap_servers=f"127.0.0.1:{port}")
    try:
        started = time.monotonic()
        ready = made.client.get("/ready")
        exposition = made.client.get("/metrics").text
        elapsed = time.monotonic() - started
    finally:
        made.close()

    assert ready.status_code == 503
    assert ready.json()["checks"] == {
        "database": "ok",
        "bus": "unreachable: StorageError",
        "redis": "not configured",
    }
    assert "diogen_http_request_duration_seconds_bucket" in exposition
    assert "diogen_pipeline_figures_up 0" in exposition
    assert "diogen_bus_lag_events" not in exposition
    assert elapsed < 10  # each check waits a second for the broker, not the lag's own limits


def test_ready_reports_an_old_schema(world: World) -> None:
    with world.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))

    response = world.client.get("/ready")

    assert response.status_code == 503
    assert "0001" in response.json()["checks"]["database"]


@pytest.fixture
def strict(sqlite_url: str) -> Iterator[World]:
    made = make_world(
        sqlite_url,
        rate_limit_per_minute=3,
        ip_rate_limit_per_minute=5,
        max_request_bytes=2048,
        cors_origins=["https://dash.example"],
    )
    yield made
    made.close()


def test_rate_limit_per_key_then_per_address(strict: World) -> None:
    statuses = [strict.get("alpha:viewer", f"{V}/me").status_code for _ in range(4)]
    limited = strict.get("alpha:viewer", f"{V}/me")
    other_user = strict.get("alpha:admin", f"{V}/me")
    address = strict.get("alpha:admin", f"{V}/me")

    assert statuses == [200, 200, 200, 429]
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # Five requests from this address so far: the sixth is refused whoever sends it.
    assert other_user.status_code == 429 and address.status_code == 429
    assert strict.client.get("/health").status_code == 200


def test_bodies_over_the_limit_are_413(strict: World) -> None:
    announced = strict.client.post(
        f"{V}/auth/token", content=b"x" * 4096, headers={"Content-Type": "application/json"}
    )

    def chunks() -> Iterator[bytes]:
        yield b"{" + b" " * 1500
        yield b" " * 1500 + b"}"

    streamed = strict.client.post(
        f"{V}/auth/token", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert announced.status_code == 413 and streamed.status_code == 413
    assert streamed.json()["type"] == "urn:diogen:problem:payload-too-large"


def test_cors_allows_configured_origins_only(strict: World) -> None:
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = strict.client.options(
        f"{V}/me", headers={"Origin": "https://dash.example", **preflight}
    )
    refused = strict.client.options(
        f"{V}/me", headers={"Origin": "https://evil.example", **preflight}
    )

    assert allowed.headers["access-control-allow-origin"] == "https://dash.example"
    assert "access-control-allow-origin" not in refused.headers


def test_logs_are_json_with_the_request_id_and_no_secrets(world: World) -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    handler = Collect()
    access = logging.getLogger("diogen.api.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        world.get("alpha:viewer", f"{V}/me", headers={"X-Request-ID": "trace-7"})
        world.get("alpha:viewer", f"{V}/me", headers={"X-Request-ID": "bad id\nforged"})
    finally:
        access.removeHandler(handler)

    first, second = (json.loads(line) for line in lines)
    assert first["request_id"] == "trace-7" and first["route"] == "/api/v1/me"
    assert first["status"] == 200 and first["duration_ms"] >= 0
    assert second["request_id"] != "bad id\nforged" and len(second["request_id"]) == 32
    assert world.tokens["alpha:viewer"] not in "".join(lines)


# A Redis database per test: the worlds' API keys are the same ids in every test, so two tests
# running at once on one database (xdist) counted each other's requests.
LIMITS_SHARED_DB, COUNTED_ONCE_DB, CACHED_DB = 15, 14, 13


@pytest.fixture
def redis_world(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[World]:
    with clean_redis(request.config, request.param):
        made = make_world(sqlite_url, redis_url=redis_url(request.param), rate_limit_per_minute=2)
        yield made
        made.close()


@pytest.mark.parametrize("redis_world", [LIMITS_SHARED_DB], indirect=True)
def test_redis_limits_are_shared_between_workers(redis_world: World, sqlite_url: str) -> None:
    # A second app on the same settings stands for a second worker process.
    url = redis_url(LIMITS_SHARED_DB)
    settings = settings_for(sqlite_url, redis_url=url, rate_limit_per_minute=2)
    second = create_app(settings, clock=lambda: NOW)

    headers = redis_world.headers("alpha:viewer")
    with TestClient(second) as other:
        statuses = [
            redis_world.client.get(f"{V}/me", headers=headers).status_code,
            other.get(f"{V}/me", headers=headers).status_code,
            other.get(f"{V}/me", headers=headers).status_code,
        ]
        limited = other.get(f"{V}/me", headers=headers)
        ready = other.get("/ready").json()

    assert statuses == [200, 200, 429]
    assert int(limited.headers["retry-after"]) >= 1
    assert ready["checks"]["redis"] == "ok"
    keys = Redis.from_url(url).keys("diogen:rate:*")
    assert any(b"key:" in k or b"user:" in k for k in keys)


def _counts_each_request_once(world: World) -> None:
    """Limits of 3 per key and 5 per address: four authenticated requests of three users,
    one with a wrong key (401), then a sign-in (the sixth: 429, before any password check) and
    a wrong key again (429, not 401)."""
    users = ["alpha:admin", "alpha:admin", "alpha:maintainer", "beta:viewer"]
    authenticated = [world.get(who, f"{V}/me").status_code for who in users]
    wrong_key = {"Authorization": "Bearer dgn_0123456789ab_not-the-secret"}
    refused = world.client.get(f"{V}/me", headers=wrong_key).status_code
    sign_in = world.client.post(
        f"{V}/auth/token", json={"email": "viewer@alpha.example", "password": "wrong"}
    )
    again = world.client.get(f"{V}/me", headers=wrong_key)

    assert authenticated == [200, 200, 200, 200]
    assert refused == 401
    assert sign_in.status_code == 429 and "address" in sign_in.json()["detail"]
    assert again.status_code == 429


def test_every_request_counts_once_against_its_address(strict: World) -> None:
    # An authenticated route counts its address with its key; the others by themselves.
    _counts_each_request_once(strict)


def test_every_request_counts_once_against_its_address_in_redis(
    request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    url = redis_url(COUNTED_ONCE_DB)
    with clean_redis(request.config, COUNTED_ONCE_DB):
        made = make_world(
            sqlite_url, redis_url=url, rate_limit_per_minute=3, ip_rate_limit_per_minute=5
        )
        try:
            _counts_each_request_once(made)
        finally:
            made.close()


def test_a_dropped_database_connection_fails_one_request_then_recovers(postgres_url: str) -> None:
    """The API's pool does not check each connection before use (a round trip on every
    request): the request that finds a connection the server dropped gets a 503, and the
    pool replaces it."""
    world = make_world(postgres_url)
    try:
        assert world.get("alpha:viewer", f"{V}/me").status_code == 200
        # A GET's pool: the readers' own on PostgreSQL.
        assert world.state.reader.pool.checkedin() == 1
        with world.state.reader.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with world.engine.connect() as admin:
            # Waits (up to 10 s) until the backend is gone.
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)}, 10000)")
        dropped = world.get("alpha:viewer", f"{V}/me")
        after = [world.get("alpha:viewer", f"{V}/me").status_code for _ in range(3)]
    finally:
        world.close()

    assert dropped.status_code == 503
    assert dropped.json()["type"] == "urn:diogen:problem:storage-unavailable"
    assert after == [200, 200, 200]


def test_the_api_keeps_the_database_connections_it_opened(postgres_url: str) -> None:
    """A server answering more requests at once than a default pool keeps (5) opened and
    closed a PostgreSQL connection, a new backend process, for one request in ten; the
    API's pools keep every connection they open, up to the same 15 at once."""
    world = make_world(postgres_url)
    opened: list[object] = []
    try:
        reader = world.state.reader.engine
        event.listen(reader, "connect", lambda *_: opened.append(1))

        def at_once(count: int) -> None:
            connections = [reader.connect() for _ in range(count)]
            for connection in connections:
                connection.close()

        at_once(12)
        first = len(opened)
        at_once(12)
        kept = reader.pool.size()
    finally:
        world.close()

    assert first >= 11  # one may have been open already
    assert len(opened) == first
    assert kept == POOL_CONNECTIONS


def test_a_failing_redis_lets_requests_through() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    limiter = RedisLimiter(Redis(host="127.0.0.1", port=port, socket_connect_timeout=1))

    # A limit of 0 refuses every request counted: none is.
    assert limiter.hit([Limit("ip:test", 0, "address"), Limit("key:k", 0, "key")]) is None


@pytest.mark.parametrize("redis_world", [CACHED_DB], indirect=True)
def test_reports_are_cached_in_redis_as_sent(redis_world: World) -> None:
    url = f"{V}/analytics/dora?org=alpha&from=2024-02-01&to=2024-03-01"
    computed = redis_world.get("alpha:viewer", url)
    from_redis = redis_world.get("alpha:viewer", url)
    client = Redis.from_url(redis_url(CACHED_DB))
    (key,) = client.keys("diogen:cache:*")
    stored = client.get(key)
    client.close()

    assert computed.status_code == 200 and from_redis.content == computed.content
    assert stored == computed.headers["etag"].encode() + b"\n" + computed.content

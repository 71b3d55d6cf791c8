"""Liveness, readiness and Prometheus metrics, outside /api/v1 and without authentication."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from redis import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from diogen.api.deps import StateDep
from diogen.errors import StorageError
from diogen.migrations import HEAD, current_revision

router = APIRouter(tags=["operations"])
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
READY_EXAMPLE = {"status": "ready", "checks": {"database": "ok", "redis": "not configured"}}


@router.get(
    "/health",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
def health() -> dict[str, str]:
    """The process is alive (nothing else is checked)."""
    return {"status": "ok"}


def _database(state: StateDep) -> str:
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(state.engine)
    except (SQLAlchemyError, StorageError) as exc:
        return f"unreachable: {type(exc).__name__}"
    if revision != HEAD:
        return f"schema at revision {revision}, expected {HEAD}: run `diogen db upgrade`"
    return "ok"


def _redis(state: StateDep) -> str:
    if state.redis is None:
        return "not configured"
    try:
        state.redis.ping()
    except RedisError as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


@router.get(
    "/ready",
    responses={
        200: {"content": {"application/json": {"example": READY_EXAMPLE}}},
        503: {
            "description": "A dependency is down; `checks` says which.",
            "content": {
                "application/json": {
                    "example": {"status": "unavailable", "checks": {"database": "unreachable"}}
                }
            },
        },
    },
)
def ready(state: StateDep) -> JSONResponse:
    """The database is reachable with the current schema, and Redis answers when configured."""
    checks = {"database": _database(state), "redis": _redis(state)}
    healthy = all(value in ("ok", "not configured") for value in checks.values())
    body: dict[str, Any] = {"status": "ready" if healthy else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "example": 'diogen_http_request_duration_seconds_count{method="GET",'
                    'route="/api/v1/teams",status="200"} 3.0'
                }
            }
        }
    },
)
def metrics(state: StateDep) -> Response:
    """Prometheus metrics: request latency histograms by route template, method and status.

    Under `diogen serve --workers N` every worker writes its figures to files in
    `PROMETHEUS_MULTIPROC_DIR`, and whichever worker answers adds up those of all of them.
    """
    if multiprocess_directory() is None:
        return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
    merged = CollectorRegistry()
    MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
    return Response(generate_latest(merged), media_type=CONTENT_TYPE_LATEST)


def multiprocess_directory() -> str | None:
    """Where prometheus_client's multiprocess mode keeps the workers' figures, when it is on."""
    return os.environ.get(MULTIPROCESS_VARIABLE) or None

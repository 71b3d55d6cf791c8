"""Liveness, readiness and Prometheus metrics, outside /api/v1 and without authentication."""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from redis import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from diogen.api.deps import StateDep
from diogen.bus import make_bus
from diogen.errors import DiogenError, StorageError
from diogen.migrations import HEAD, current_revision
from diogen.processing.status import pipeline_status, registry
from diogen.processing.worker import GROUP

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# A readiness probe must answer before its caller gives up (Kubernetes waits 1 s by default).
BUS_CHECK_SECONDS = 1.0
READY_EXAMPLE = {
    "status": "ready",
    "checks": {"database": "ok", "bus": "ok", "redis": "not configured"},
}
# Said instead of the pipeline's figures when they cannot be read, so that an alert can tell.
PIPELINE_DOWN = (
    b"# HELP diogen_pipeline_figures_up Whether the pipeline's figures could be read.\n"
    b"# TYPE diogen_pipeline_figures_up gauge\n"
    b"diogen_pipeline_figures_up %d\n"
)


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


def _bus(state: StateDep) -> str:
    """The embedded log's tables, or a Kafka broker. The detail goes to the log, not to this
    unauthenticated answer (it names hosts)."""
    try:
        bus = make_bus(state.settings, state.engine)
        try:
            bus.check(BUS_CHECK_SECONDS)
        finally:
            bus.close()
    except DiogenError as exc:
        log.warning("readiness: the bus is unreachable: %s", exc)
        return f"unreachable: {type(exc).__name__}"
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
    """The database is reachable with the current schema, the bus (the embedded log or Kafka)
    answers, and so does Redis when configured."""
    checks = {"database": _database(state), "bus": _bus(state), "redis": _redis(state)}
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
    """Prometheus metrics: request latency histograms by route template, method and status,
    the report warmer's figures, and the pipeline's (`diogen status --format prometheus`):
    per source the last sync, its records, failures since a success, cursor, events not yet
    published, quarantined records and dead letters; the bus lag per topic; stale gold windows.

    Under `diogen serve --workers N` every worker writes its figures to files in
    `PROMETHEUS_MULTIPROC_DIR`, and whichever worker answers adds up those of all of them; the
    pipeline's are read from the database and the bus at each scrape.
    """
    if multiprocess_directory() is None:
        served = generate_latest(state.registry)
    else:
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        served = generate_latest(merged)
    return Response(served + _pipeline(state), media_type=CONTENT_TYPE_LATEST)


def _pipeline(state: StateDep) -> bytes:
    try:
        bus = make_bus(state.settings, state.engine)
        try:
            # A broker that does not answer would hold the scrape for the lag's own time limits.
            bus.check(BUS_CHECK_SECONDS)
            with Session(state.reader) as session:
                found = pipeline_status(session, bus, GROUP)
        finally:
            bus.close()
    except (DiogenError, SQLAlchemyError) as exc:
        log.warning("metrics: the pipeline's figures cannot be read: %s", exc)
        return PIPELINE_DOWN % 0
    return generate_latest(registry(found)) + PIPELINE_DOWN % 1


def multiprocess_directory() -> str | None:
    """Where prometheus_client's multiprocess mode keeps the workers' figures, when it is on."""
    return os.environ.get(MULTIPROCESS_VARIABLE) or None

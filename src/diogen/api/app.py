"""The application factory: `create_app(settings)` builds everything; importing builds nothing.

Another router (webhooks, ingest) joins `/api/v1` with one line in `API_ROUTERS`; make it with
`diogen.api.routes.common.api_router`.
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry
from redis import Redis
from sqlalchemy import Engine

from diogen.accounts.clock import Clock, utc_now
from diogen.api import problems
from diogen.api.cache import Cache, MemoryCache, RedisCache
from diogen.api.demand import Demand
from diogen.api.deps import limit_by_address
from diogen.api.lean import LeanReads, lean_routes
from diogen.api.middleware import BodyLimit, ETags, RequestContext, latency_histogram
from diogen.api.openapi import problem_content_types
from diogen.api.parent import follow
from diogen.api.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from diogen.api.routes import (
    analytics,
    auth,
    connections,
    delivery,
    developers,
    flow,
    health,
    organizations,
    receive,
    repositories,
    service_links,
    services,
    sources,
    teams,
    tracker_receive,
    users,
)
from diogen.api.state import ApiState
from diogen.api.statements import CancelOnDisconnect, watch
from diogen.api.warm_process import ChildComputer
from diogen.api.warmer import Warmer
from diogen.config import Settings, load_settings
from diogen.db import make_engine
from diogen.logs import configure_json_logging
from diogen.web import mount_dashboard

API_ROUTERS: tuple[APIRouter, ...] = (
    # Most asked first: a request's route is found by trying every route in order (no two
    # routes of these routers match the same path, so the order decides nothing else).
    analytics.router,
    flow.router,
    delivery.router,
    repositories.router,
    teams.router,
    auth.router,
    users.router,
    organizations.router,
    services.router,
    developers.router,
    sources.router,
    connections.router,
    service_links.router,
    receive.router,
    tracker_receive.router,
)
# `diogen serve --workers N` starts each worker through `app_from_environment`.
CONFIG_FILE_VARIABLE = "DIOGEN_SERVE_CONFIG_FILE"
LOG_LEVEL_VARIABLE = "DIOGEN_LOG_LEVEL"
# The pid of `diogen serve --workers N`'s supervisor: a worker ends when it is gone.
SUPERVISOR_VARIABLE = "DIOGEN_SERVE_SUPERVISOR_PID"


def create_app(settings: Settings, *, clock: Clock = utc_now, warm: bool = False) -> FastAPI:
    """The API on `settings.database_url` (reachable now; its schema checked by /ready);
    `warm` (`diogen serve`): ready for its first visitors, with its OpenAPI document built (the
    dashboard reads it on a team's page: 0.45 s to build on first request) and a report
    warmer (`api.warmer`) if the settings allow."""
    state = _state(settings, clock)
    warmer = _warmer(state) if warm else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if warmer is not None:
            warmer.start()
        yield
        if warmer is not None:
            warmer.stop()
        state.engine.dispose()
        state.reader.dispose()
        if state.redis is not None:
            state.redis.close()

    app = FastAPI(
        title="Diogen",
        version="1",
        summary="DORA metrics you can explain, and the data behind them.",
        lifespan=lifespan,
    )
    app.state.diogen = state
    app.state.warmer = warmer
    problems.install(app)
    app.include_router(health.router)
    for router in API_ROUTERS:
        app.include_router(
            router, dependencies=[Depends(limit_by_address)], responses=problems.PROBLEM_RESPONSES
        )
    problem_content_types(app)
    mount_dashboard(app, poll_seconds=settings.dashboard_poll_seconds)
    # Added last runs first: the request id and timing wrap everything else.
    routes = [r for router in API_ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    app.add_middleware(LeanReads, api=app, routes=lean_routes(routes))
    app.add_middleware(CancelOnDisconnect)
    app.add_middleware(ETags)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
            expose_headers=["ETag", "Retry-After", "X-Request-ID"],
        )
    app.add_middleware(RequestContext, histogram=latency_histogram(state.registry))
    if warm:
        app.openapi()
    return app


def _state(settings: Settings, clock: Clock) -> ApiState:
    engine = make_engine(settings.database_url, pre_ping=False, keep_connections=True)
    client = Redis.from_url(settings.redis_url) if settings.redis_url else None

    # The limiter's minutes are the app's clock's, so a test's fixed clock keeps its requests in
    # one window instead of now and then straddling two.
    def seconds() -> float:
        return clock().timestamp()

    limiter: Limiter = RedisLimiter(client, seconds) if client else MemoryLimiter(seconds)
    cache: Cache = RedisCache(client) if client else MemoryCache()
    return ApiState(
        settings=settings,
        engine=engine,
        reader=_reader(settings, engine),
        limiter=limiter,
        cache=cache,
        clock=clock,
        registry=CollectorRegistry(),
        redis=client,
    )


def _warmer(state: ApiState) -> Warmer | None:
    settings = state.settings
    if not (settings.warm_reports and settings.analytics_cache_seconds):
        return None
    state.demand = Demand(state.clock, settings.warm_reports_limit)
    return Warmer(state, ChildComputer(settings.database_url))


def _reader(settings: Settings, engine: Engine) -> Engine:
    """The engine of GET requests, in autocommit (see `api.deps`), whose statements end when
    their client leaves. On PostgreSQL it has a pool of its own, whose connections are limited
    to `read_timeout_seconds` a statement: writes are not (the first after a migration
    rebuilds gold for minutes). SQLite has no statement timeout: there the pool is shared."""
    if engine.dialect.name == "postgresql" and settings.read_timeout_seconds:
        engine = make_engine(
            settings.database_url,
            pre_ping=False,
            statement_timeout=settings.read_timeout_seconds,
            keep_connections=True,
        )
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    watch(reader)
    return reader


def app_from_environment() -> FastAPI:
    """The app of one `diogen serve --workers N` worker, in its own process: settings from the
    environment `serve` prepared, logs as JSON like the parent's."""
    configure_json_logging(os.environ.get(LOG_LEVEL_VARIABLE, "info"))
    config = os.environ.get(CONFIG_FILE_VARIABLE)
    app = create_app(load_settings(Path(config) if config else None), warm=True)
    supervisor = os.environ.get(SUPERVISOR_VARIABLE)
    if supervisor:
        # Stopped as SIGTERM stops a worker: requests under way are answered first.
        follow(int(supervisor), lambda: os.kill(os.getpid(), signal.SIGTERM))
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Move what a server process holds from its start (modules, the app and its routes: about
    175,000 objects) out of the garbage collector's reach: it never becomes garbage, and a
    full collection walked all of it, 90-340 ms during which the process answered nothing,
    every few seconds under load. Frozen, a full collection takes about 5 ms."""
    gc.collect()
    gc.freeze()

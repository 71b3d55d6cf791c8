"""What the app holds for its lifetime: settings, engines, limiter, cache, clock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from redis import Redis
from sqlalchemy import Engine

from diogen.accounts.clock import Clock
from diogen.accounts.tokens import signing_key
from diogen.api.cache import Cache, SingleFlight
from diogen.api.lane import Lane
from diogen.api.ratelimit import Limiter
from diogen.config import Settings
from diogen.db import session_scope

if TYPE_CHECKING:  # the demand's module needs the routes', which need this one
    from diogen.api.demand import Demand


@dataclass
class ApiState:
    settings: Settings
    engine: Engine
    # GET requests' engine, in autocommit (see `api.deps`); on PostgreSQL a pool of its own,
    # whose statements are limited to `read_timeout_seconds` (see `api.app._reader`).
    reader: Engine
    limiter: Limiter
    cache: Cache
    clock: Clock
    registry: CollectorRegistry
    redis: Redis | None = None
    flights: SingleFlight = field(default_factory=SingleFlight)
    # The lean reads' turns (`api.lane`).
    lane: Lane = field(default_factory=Lane)
    # The reports asked for, counted for the warmer (`api.warmer`); None when it does not run.
    demand: Demand | None = None
    _key: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def signing_key(self) -> str:
        """Read (or create) once, on first use, so /health answers without the database."""
        with self._lock:
            if self._key is None:
                with session_scope(self.engine) as session:
                    self._key = signing_key(session, self.settings.jwt_secret)
            return self._key

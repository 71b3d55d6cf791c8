"""Fixed one-minute windows of request counts per client address and per key or user.

In-process by default; in Redis when `redis_url` is set, so every worker and host shares the
counts. If Redis fails mid-way, requests are let through (and logged): a broken limiter must
not take the API down, and `/ready` reports Redis as down meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from redis import Redis, RedisError

from diogen.api.problems import RateLimited

WINDOW = 60
log = logging.getLogger("diogen.api.ratelimit")


class Limiter(Protocol):
    def hit(self, key: str, limit: int) -> int | None:
        """Count one request for `key`; seconds to wait when it is over `limit`, else None."""


class MemoryLimiter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.counts: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()

    def hit(self, key: str, limit: int) -> int | None:
        now = self.clock()
        window = int(now // WINDOW)
        with self.lock:
            if len(self.counts) > 100_000:
                # Keys of past windows are dead weight; drop them all at once now and then.
                self.counts = {k: v for k, v in self.counts.items() if v[0] == window}
            seen_window, count = self.counts.get(key, (window, 0))
            count = count + 1 if seen_window == window else 1
            self.counts[key] = (window, count)
        return _retry_after(now) if count > limit else None


class RedisLimiter:
    def __init__(self, client: Redis, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock

    def hit(self, key: str, limit: int) -> int | None:
        now = self.clock()
        name = f"diogen:rate:{key}:{int(now // WINDOW)}"
        try:
            pipe = self.client.pipeline()
            pipe.incr(name)
            pipe.expire(name, WINDOW * 2)
            count = int(pipe.execute()[0])
        except RedisError as exc:
            log.warning("rate limit not applied: Redis failed: %s", exc)
            return None
        return _retry_after(now) if count > limit else None


def _retry_after(now: float) -> int:
    return max(1, int(WINDOW - now % WINDOW + 0.999))


def enforce(limiter: Limiter, key: str, limit: int, what: str) -> None:
    wait = limiter.hit(key, limit)
    if wait is not None:
        raise RateLimited(
            f"more than {limit} requests a minute from this {what}; retry in {wait} s",
            retry_after=wait,
        )

"""Fixed one-minute windows of request counts per client address and per key or user.

In-process by default; in Redis when `redis_url` is set, so every worker and host shares the
counts. The limits a request is subject to are counted together: in Redis, one round trip for
all of them. If Redis fails mid-way, requests are let through (and logged): a broken limiter
must not take the API down, and `/ready` reports Redis as down meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis import Redis, RedisError

from diogen.api.problems import RateLimited

WINDOW = 60
log = logging.getLogger("diogen.api.ratelimit")


@dataclass(frozen=True)
class Limit:
    """At most `per_minute` requests counted under `key`; `what` names it in the refusal."""

    key: str
    per_minute: int
    what: str


class Limiter(Protocol):
    def hit(self, limits: Sequence[Limit]) -> Exceeded | None:
        """Count one request under every limit's key; the first limit it exceeds, if any."""


@dataclass(frozen=True)
class Exceeded:
    limit: Limit
    retry_after: int


def _first_exceeded(limits: Sequence[Limit], counts: Sequence[int], now: float) -> Exceeded | None:
    for limit, count in zip(limits, counts, strict=True):
        if count > limit.per_minute:
            return Exceeded(limit, max(1, int(WINDOW - now % WINDOW + 0.999)))
    return None


class MemoryLimiter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.counts: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()

    def hit(self, limits: Sequence[Limit]) -> Exceeded | None:
        now = self.clock()
        window = int(now // WINDOW)
        with self.lock:
            if len(self.counts) > 100_000:
                # Keys of past windows are dead weight; drop them all at once now and then.
                self.counts = {k: v for k, v in self.counts.items() if v[0] == window}
            counts = [self._count(limit.key, window) for limit in limits]
        return _first_exceeded(limits, counts, now)

    def _count(self, key: str, window: int) -> int:
        seen_window, count = self.counts.get(key, (window, 0))
        count = count + 1 if seen_window == window else 1
        self.counts[key] = (window, count)
        return count


class RedisLimiter:
    def __init__(self, client: Redis, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock

    def hit(self, limits: Sequence[Limit]) -> Exceeded | None:
        now = self.clock()
        window = int(now // WINDOW)
        # No MULTI/EXEC: each count is one INCR, atomic on its own.
        pipe = self.client.pipeline(transaction=False)
        for limit in limits:
            name = f"diogen:rate:{limit.key}:{window}"
            pipe.incr(name)
            pipe.expire(name, WINDOW * 2)
        try:
            replies = pipe.execute()
        except RedisError as exc:
            log.warning("rate limit not applied: Redis failed: %s", exc)
            return None
        return _first_exceeded(limits, [int(count) for count in replies[::2]], now)


def enforce(limiter: Limiter, *limits: Limit) -> None:
    """Count one request under each limit; 429 with Retry-After if any is exceeded."""
    exceeded = limiter.hit(limits)
    if exceeded is not None:
        limit, wait = exceeded.limit, exceeded.retry_after
        raise RateLimited(
            f"more than {limit.per_minute} requests a minute from this {limit.what}; "
            f"retry in {wait} s",
            retry_after=wait,
        )

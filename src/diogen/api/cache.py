"""A cache of analytics answers: in-process, or in Redis when `redis_url` is set.

Entries are keyed on the data version (see `diogen.accounts.audit`), so a write makes every
older entry unreachable at once; they then simply expire. An entry is the answer as sent: its
ETag and its JSON, bytes that a request reads and answers with, neither parsed nor hashed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis import Redis, RedisError

MEMORY_ENTRIES = 512
# Reports computed at once per process: the work is Python holding the GIL, so more at once
# only makes each slower; the others queue without holding a database connection.
REPORTS_AT_ONCE = 2
log = logging.getLogger("diogen.api.cache")


class Cache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: int) -> None: ...

    def remaining(self, key: str) -> float | None:
        """Seconds before the entry expires; None when there is none."""


class MemoryCache:
    """The `MEMORY_ENTRIES` most recently used entries, each until it expires."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None or found[0] <= self.clock():
                self.entries.pop(key, None)
                return None
            self.entries.move_to_end(key)
            return found[1]

    def set(self, key: str, value: bytes, ttl: int) -> None:
        with self.lock:
            self.entries[key] = (self.clock() + ttl, value)
            self.entries.move_to_end(key)
            while len(self.entries) > MEMORY_ENTRIES:
                self.entries.popitem(last=False)

    def remaining(self, key: str) -> float | None:
        with self.lock:
            found = self.entries.get(key)
        left = None if found is None else found[0] - self.clock()
        return left if left is not None and left > 0 else None


# What the cached answers' Redis keys start with (a benchmark empties them by it).
REDIS_PREFIX = "diogen:cache:"


class RedisCache:
    """Shared by every worker; a Redis failure only means computing the answer again."""

    def __init__(self, client: Redis) -> None:
        self.client = client

    def get(self, key: str) -> bytes | None:
        try:
            value = self.client.get(REDIS_PREFIX + key)
        except RedisError as exc:
            log.warning("cache read skipped: Redis failed: %s", exc)
            return None
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: int) -> None:
        try:
            self.client.set(REDIS_PREFIX + key, value, ex=ttl)
        except RedisError as exc:
            log.warning("cache write skipped: Redis failed: %s", exc)

    def remaining(self, key: str) -> float | None:
        try:
            left = self.client.pttl(REDIS_PREFIX + key)
        except RedisError as exc:
            log.warning("cache expiry not read: Redis failed: %s", exc)
            return None
        # -2: no such key; -1: no expiry (never written so by Diogen).
        return left / 1000 if isinstance(left, int) and left >= 0 else None


class SingleFlight:
    """Reports not yet cached, computed at most `at_once` at a time per process, and each
    once: concurrent requests for the same answer wait for the one computing it and read its
    result from the cache. Without this, a dashboard opened by fifty people runs the same
    report fifty times, fifty different reports run at once, each slower for the others (the
    work holds the GIL), and their connections drain the database pool."""

    def __init__(self, at_once: int = REPORTS_AT_ONCE) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}
        self._slots = threading.BoundedSemaphore(at_once)

    def run(
        self,
        key: str,
        compute: Callable[[], bytes],
        lookup: Callable[[], bytes | None],
        before_waiting: Callable[[], None],
    ) -> bytes:
        """`compute()` if no other thread is computing `key`; else wait for it, then
        `lookup()` (or compute after all, when that gives nothing). `before_waiting` is
        called before any wait, to give resources back."""
        with self._lock:
            running = self._running.get(key)
            leads = running is None
            if running is None:
                running = self._running[key] = threading.Event()
        if leads:
            try:
                return self._limited(compute, before_waiting)
            finally:
                with self._lock:
                    del self._running[key]
                running.set()
        before_waiting()
        running.wait()
        found = lookup()
        return found if found is not None else self._limited(compute, before_waiting)

    def _limited(self, compute: Callable[[], bytes], before_waiting: Callable[[], None]) -> bytes:
        if not self._slots.acquire(blocking=False):
            before_waiting()
            self._slots.acquire()
        try:
            return compute()
        finally:
            self._slots.release()

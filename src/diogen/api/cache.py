"""A cache of analytics answers: in-process, or in Redis when `redis_url` is set.

Entries are keyed on the data version (see `diogen.accounts.audit`), so a write makes every
older entry unreachable at once; they then simply expire.
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
log = logging.getLogger("diogen.api.cache")


class Cache(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl: int) -> None: ...


class MemoryCache:
    """The `MEMORY_ENTRIES` most recently used entries, each until it expires."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None or found[0] <= self.clock():
                self.entries.pop(key, None)
                return None
            self.entries.move_to_end(key)
            return found[1]

    def set(self, key: str, value: str, ttl: int) -> None:
        with self.lock:
            self.entries[key] = (self.clock() + ttl, value)
            self.entries.move_to_end(key)
            while len(self.entries) > MEMORY_ENTRIES:
                self.entries.popitem(last=False)


class RedisCache:
    """Shared by every worker; a Redis failure only means computing the answer again."""

    def __init__(self, client: Redis) -> None:
        self.client = client

    def get(self, key: str) -> str | None:
        try:
            value = self.client.get(f"diogen:cache:{key}")
        except RedisError as exc:
            log.warning("cache read skipped: Redis failed: %s", exc)
            return None
        return value.decode() if isinstance(value, bytes) else None

    def set(self, key: str, value: str, ttl: int) -> None:
        try:
            self.client.set(f"diogen:cache:{key}", value, ex=ttl)
        except RedisError as exc:
            log.warning("cache write skipped: Redis failed: %s", exc)

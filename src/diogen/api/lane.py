"""The lean reads of one worker process, run a few at a time, in the order they came.

A worker process runs Python one thread at a time. With every waiting request in a runnable
thread of its own (the thread pool has 40), those threads take turns on the interpreter lock
in no order and spend the CPU handing it over: under 50 clients, a warm answer cost twice the
CPU and its p99 was 3 times its median. Two at a time (one thread computing while the other
waits on the database) halved both; the others wait on the event loop, not in threads, which
measured far better than threads asleep on a semaphore (docs/benchmarks.md, "A lane for lean
reads").

A request that finds it must compute a report (seconds, not a millisecond) leaves the lane
first (`leave`), so that the quick answers behind it are not held up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.from_thread
from fastapi.concurrency import run_in_threadpool

# Requests of the lane that run at once; the others wait, in arrival order, until one ends.
WIDTH = 2
T = TypeVar("T")


@dataclass(eq=False)
class _Turn:
    """One request's slot, given back once: by `Lane.leave` or when the request ends."""

    limiter: anyio.CapacityLimiter
    held: bool = True

    def end(self) -> None:  # on the event loop
        if self.held:
            self.held = False
            self.limiter.release_on_behalf_of(self)


class Lane:
    def __init__(self, width: int = WIDTH) -> None:
        self.width = width
        self._current = threading.local()
        # A limiter belongs to one event loop (each test client runs its own).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` in a worker thread once a slot is free."""
        turn = _Turn(self._limiter_of(asyncio.get_running_loop()))
        await turn.limiter.acquire_on_behalf_of(turn)
        try:
            return await run_in_threadpool(self._in_turn, turn, work)
        finally:
            turn.end()

    def leave(self) -> None:
        """Gives up the slot of the request this thread runs, if it holds one."""
        turn: _Turn | None = getattr(self._current, "turn", None)
        if turn is not None:
            self._current.turn = None
            anyio.from_thread.run_sync(turn.end)

    def in_use(self) -> int:
        """Slots held now (of this event loop's lane)."""
        return int(self._limiter.borrowed_tokens) if self._limiter is not None else 0

    def _in_turn(self, turn: _Turn, work: Callable[[], T]) -> T:
        self._current.turn = turn
        try:
            return work()
        finally:
            self._current.turn = None

    def _limiter_of(self, loop: asyncio.AbstractEventLoop) -> anyio.CapacityLimiter:
        if self._limiter is None or self._loop is not loop:
            self._loop, self._limiter = loop, anyio.CapacityLimiter(self.width)
        return self._limiter

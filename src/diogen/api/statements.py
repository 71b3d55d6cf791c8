"""A read's statements end with the read: cancelled when its client disconnects.

A browser that gives up on a page closes its connection, but the request's thread cannot be
stopped from outside, and its statement ran on in the database for as long as it took (the
data-quality counts: 20 minutes at scale 1, and more requests piled up behind them). So each
GET to the API has a `Reading`, which knows the database connection its thread is running a
statement on; when the client disconnects, that statement is cancelled (PostgreSQL's cancel
request, SQLite's interrupt) and the request's later statements are refused. Time limits are
the readers' connections' own (`read_timeout_seconds`, see `diogen.api.app`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, event
from starlette.types import ASGIApp, Receive, Scope, Send

from diogen.errors import DiogenError

API_PREFIX = "/api/"
WATCH_AFTER_SECONDS = 0.25
CANCEL_ATTEMPTS = 100
CANCEL_INTERVAL_SECONDS = 0.05
_reading: ContextVar[Reading | None] = ContextVar("diogen_reading", default=None)


class ClientGone(DiogenError):
    """Raised instead of running a statement for a client that left (only the log sees it)."""

    http_status = 503
    type_slug = "client-disconnected"


class Reading:
    """The statement a read request runs, if any, and whether its client is gone."""

    def __init__(self) -> None:
        # Held while cancelling, so that the connection cancelled is still this request's:
        # its thread cannot finish the statement and hand the connection back meanwhile.
        self._lock = threading.Lock()
        self._running: Any = None
        self.abandoned = False

    def started(self, dbapi_connection: Any) -> None:
        with self._lock:
            if self.abandoned:
                raise ClientGone("the client disconnected: the request's statements are cancelled")
            self._running = dbapi_connection

    def finished(self) -> None:
        with self._lock:
            self._running = None

    @property
    def running(self) -> bool:
        return self._running is not None

    def abandon(self) -> None:
        """Refuse the request's next statements and cancel the running one, again until it
        ends: a cancel that reaches the database before the statement does is ignored."""
        with self._lock:
            self.abandoned = True
        for _ in range(CANCEL_ATTEMPTS):
            with self._lock:
                if self._running is None:
                    return
                _cancel(self._running)
            time.sleep(CANCEL_INTERVAL_SECONDS)


def _cancel(dbapi_connection: Any) -> None:
    cancel = getattr(dbapi_connection, "cancel_safe", None)  # psycopg's, from another thread
    if cancel is None:
        dbapi_connection.interrupt()  # sqlite3's, thread-safe
    else:
        cancel(timeout=5)


@contextmanager
def reading() -> Iterator[Reading]:
    """The `Reading` of the statements run in this context (and the threads it starts)."""
    current = Reading()
    token = _reading.set(current)
    try:
        yield current
    finally:
        _reading.reset(token)


def client_gone() -> bool:
    """Whether the current request's client disconnected (its statements were cancelled)."""
    reading = _reading.get()
    return reading is not None and reading.abandoned


def watch(engine: Engine) -> None:
    """Tell the current request's `Reading` about every statement run through `engine`."""
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "handle_error", _failed)


def _before(connection: Any, *_: Any) -> None:
    reading = _reading.get()
    if reading is not None:
        reading.started(connection.connection.dbapi_connection)


def _after(*_: Any) -> None:
    reading = _reading.get()
    if reading is not None:
        reading.finished()


def _failed(_context: Any) -> None:
    _after()


class CancelOnDisconnect:
    """Gives every API GET its `Reading`, and abandons it when the client disconnects.

    Past `WATCH_AFTER_SECONDS` a task waits for the client's disconnect, which uvicorn delivers
    to `receive` (the API's GET routes read no body, so the task takes nothing the app needs).
    Quicker requests, nearly all of them, never start it: a task per request would cost about
    a hundredth of a cached answer's time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(API_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        watchers: list[asyncio.Task[None]] = []
        with reading() as current:
            timer = loop.call_later(
                WATCH_AFTER_SECONDS,
                lambda: watchers.append(loop.create_task(_watch(receive, current))),
            )
            try:
                await self.app(scope, receive, send)
            finally:
                timer.cancel()
                for watcher in watchers:
                    watcher.cancel()


async def _watch(receive: Receive, reading: Reading) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    if reading.running:
        await run_in_threadpool(reading.abandon)  # a cancel request is a round trip
    else:
        reading.abandon()

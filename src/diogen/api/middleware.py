"""ASGI middleware: request id, access log and latency metrics; body size limit; ETags."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from diogen.api.logs import accept_request_id
from diogen.api.problems import PayloadTooLarge, from_error
from diogen.logs import request_id

log = logging.getLogger("diogen.api.access")
UNMATCHED = "<unmatched>"


def _header(holder: Scope | Message, name: bytes) -> str | None:
    """The header `name` of a request's scope or of a response's start message."""
    for key, value in holder.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def latency_histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram(
        "diogen_http_request_duration_seconds",
        "Time to answer an HTTP request, by route template, method and status.",
        ["method", "route", "status"],
        registry=registry,
    )


class RequestContext:
    """Gives each request an id (X-Request-ID in and out), times it and logs one line for it."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = accept_request_id(_header(scope, b"x-request-id"))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.histogram.labels(scope["method"], route, str(status)).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
            request_id.reset(token)


class BodyLimit:
    """Refuses bodies over `limit` bytes with 413, whether announced by Content-Length or not."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"request body over {self.limit} bytes"
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await from_error(PayloadTooLarge(detail, limit=self.limit))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # FastAPI turns any other error raised while reading a body into a 400.
                raise HTTPException(413, detail)
            return message

        await self.app(scope, counting_receive, send)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(etag: str, wanted: str | None) -> bool:
    if wanted is None:
        return False
    return wanted == "*" or etag in {tag.strip().removeprefix("W/") for tag in wanted.split(",")}


class ETags:
    """A strong ETag on every successful GET answer; `If-None-Match` with it gets 304.

    An answer that comes with its ETag (a cached report: see `routes.analytics.cached`) is
    passed on as it is, or answered 304; the others are buffered and hashed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: MutableMapping[str, Any] = {}
        chunks: list[bytes] = []
        # "buffer" until the body is whole; "pass" it on as it comes; "drop" it: 304 sent.
        mode = "buffer"

        async def etag_send(message: Message) -> None:
            nonlocal mode
            if message["type"] == "http.response.start":
                start.update(message)
                given = _header(message, b"etag")
                if message["status"] != 200:
                    mode = "pass"
                elif given is not None:
                    mode = "drop" if _matches(given, _header(scope, b"if-none-match")) else "pass"
                if mode == "pass":
                    await send(message)
                elif mode == "drop":
                    await _not_modified(message, send)
                return
            if mode == "pass":
                await send(message)
            elif mode == "buffer":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._finish(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, etag_send)

    async def _finish(
        self, scope: Scope, start: MutableMapping[str, Any], body: bytes, send: Send
    ) -> None:
        etag = etag_of(body)
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        headers.append((b"etag", etag.encode()))
        if _matches(etag, _header(scope, b"if-none-match")):
            await _not_modified({**start, "headers": headers}, send)
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _not_modified(start: MutableMapping[str, Any], send: Send) -> None:
    drop = (b"content-type", b"content-length")
    kept = [(k, v) for k, v in start.get("headers", []) if k not in drop]
    await send({"type": "http.response.start", "status": 304, "headers": kept})
    await send({"type": "http.response.body", "body": b""})

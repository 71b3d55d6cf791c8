"""Every error answer is `application/problem+json` (RFC 9457), built here and only here.

`DiogenError` subclasses carry their status and a stable slug; the `type` is
`urn:diogen:problem:<slug>`. Validation errors list the failing fields.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from diogen.api.statements import ClientGone, client_gone
from diogen.errors import DiogenError

PROBLEM_JSON = "application/problem+json"
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement_timeout or a cancel request
TYPE_PREFIX = "urn:diogen:problem:"
log = logging.getLogger("diogen.api")
# Starlette's own errors, by status; fixed here because reason phrases differ between Pythons.
HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


class RateLimited(DiogenError):
    http_status = 429
    type_slug = "rate-limited"


class PayloadTooLarge(DiogenError):
    http_status = 413
    type_slug = "payload-too-large"


class InvalidField(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """The body of every error answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:diogen:problem:not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "unknown team 'platform'",
                }
            ]
        }
    )
    type: str
    title: str
    status: int
    detail: str
    errors: list[InvalidField] | None = None


def problem(
    status: int,
    slug: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    title: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + slug,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def from_error(exc: DiogenError) -> JSONResponse:
    headers = {}
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.inputs.get("retry_after", 1))
    return problem(exc.http_status, exc.type_slug, exc.message, headers=headers)


def _field(location: tuple[Any, ...]) -> str:
    # ("query", "limit") → "limit"; ("body", "members", 0, "role") → "members.0.role"
    parts = [str(part) for part in location[1:]] or [str(part) for part in location]
    return ".".join(parts)


async def _diogen(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DiogenError)
    if exc.http_status >= 500:
        log.warning("request failed: %s", exc.message)
    return from_error(exc)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(422, "validation-failed", f"invalid request: {shown}", errors=errors)


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    slug = HTTP_SLUGS.get(exc.status_code, f"http-{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, slug, detail, headers=exc.headers)


async def _integrity(_request: Request, _exc: Exception) -> JSONResponse:
    # A concurrent request created the same row between our check and our insert.
    return problem(409, "conflict", "the change conflicts with existing data; read and retry")


async def _data(_request: Request, _exc: Exception) -> JSONResponse:
    # The database refused a value the schema let through, e.g. a NUL character, which
    # PostgreSQL text cannot hold.
    return problem(400, "invalid-input", "a value in the request cannot be stored or searched")


async def _database(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    if _is_cancel(exc.orig):
        return _cancelled(request)
    log.warning("database unavailable: %s", str(exc).splitlines()[0])
    return problem(503, "storage-unavailable", "the database is unavailable; retry later")


def _is_cancel(error: BaseException | None) -> bool:
    if getattr(error, "sqlstate", None) == QUERY_CANCELED:
        return True
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT


def _cancelled(request: Request) -> JSONResponse:
    """A read's statement cancelled: its client left (see `api.statements`), or it ran out of
    `read_timeout_seconds` (PostgreSQL's statement_timeout on the readers' connections)."""
    if client_gone():
        log.info("statement cancelled: the client disconnected")
        return from_error(ClientGone("the client disconnected: its statement was cancelled"))
    seconds = request.app.state.diogen.settings.read_timeout_seconds
    log.warning("statement cancelled after read_timeout_seconds (%g s)", seconds)
    detail = (
        f"the database took longer than the {seconds:g} s a read may take "
        "(read_timeout_seconds); narrow the scope or the window, or retry later"
    )
    return problem(504, "query-timeout", detail, title="Query timed out")


async def _pool_exhausted(_request: Request, exc: Exception) -> JSONResponse:
    # Every connection of the pool stayed busy for `pool_timeout`: the server is overloaded,
    # which a retry a little later answers; the client did nothing wrong.
    log.warning("no database connection free: %s", str(exc).splitlines()[0])
    detail = "the server is busy: no database connection came free in time; retry later"
    return problem(503, "busy", detail, headers={"Retry-After": "5"})


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "internal", "unexpected error; the request id identifies it in the logs")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DiogenError, _diogen)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(OperationalError, _database)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(Exception, _unexpected)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": description}
    for status, description in {
        400: "The request cannot be done as asked.",
        401: "Missing or invalid credentials.",
        403: "The role held in the organisation is too weak.",
        404: "No such thing, or it belongs to an organisation you are not in.",
        409: "It conflicts with something that exists.",
        413: "The body is larger than the configured limit.",
        422: "A parameter or body field is invalid; `errors` names them.",
        429: "Too many requests; retry after `Retry-After` seconds.",
        503: "The database is unavailable, or the server too busy; retry later.",
        504: "A read's query ran longer than `read_timeout_seconds`.",
    }.items()
}

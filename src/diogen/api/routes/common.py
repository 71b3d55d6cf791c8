"""What every resource router shares: paging parameters, lookups that 404, the audit call."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from diogen.accounts.audit import record_write
from diogen.api.access import Principal
from diogen.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from diogen.api.state import ApiState
from diogen.errors import InputError, NotFoundError
from diogen.logs import request_id
from diogen.silver.base import Base

M = TypeVar("M", bound=Base)
API_PREFIX = "/api/v1"


def api_router(tag: str) -> APIRouter:
    """A router of `/api/v1`. The prefix is set here rather than when the router is included,
    so each route's own path is its full template (the label of its latency metrics)."""
    return APIRouter(prefix=API_PREFIX, tags=[tag])


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")]
Cursor = Annotated[
    str | None,
    Query(max_length=2000, description="`next_cursor` of the previous page."),
]
DEFAULT_PAGE = DEFAULT_LIMIT


def answer(model: BaseModel) -> Response:
    """`model` as the JSON answer, serialised in the worker thread that ran the route. Returned
    as a model instead, it would cost another trip to the thread pool, where FastAPI validates
    it again against the route's response model (which the route just built it as)."""
    return Response(model.model_dump_json(), media_type="application/json")


def new_id() -> str:
    """An id for a row created through the API: its name may change, so it cannot be the key."""
    return uuid.uuid4().hex


def missing(kind: str, key: str) -> NotFoundError:
    """The one 404 for rows that do not exist and rows of another organisation."""
    return NotFoundError(f"unknown {kind} {key!r}", kind=kind, key=key)


def get_row(session: Session, model: type[M], row_id: str, kind: str) -> M:
    row = session.get(model, row_id)
    if row is None:
        raise missing(kind, row_id)
    return row


def audit(
    session: Session,
    state: ApiState,
    principal: Principal,
    action: str,
    target_id: str,
    organization_id: str | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Log the write (action "<type>.<verb>") and bump the data version, in this transaction."""
    record_write(
        session,
        principal.actor,
        action,
        action.partition(".")[0],
        target_id,
        now=state.clock(),
        organization_id=organization_id,
        changes=changes,
        request_id=request_id.get(),
    )


def aware(moment: datetime, field: str) -> datetime:
    """Times from clients must say their zone: a naive one is ambiguous, not UTC."""
    if moment.tzinfo is None:
        raise InputError(f"{field} needs a time zone, e.g. 2024-01-01T00:00:00Z", field=field)
    return moment

"""Asking the worker for a sync now, rather than when the source's interval has passed.

Only sources the scheduler can rebuild a sync for (`scheduler.jobs`) can be asked for; the
next scheduler tick of any worker runs them, under the source's lock as usual.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from diogen.ids import stable_id
from diogen.ingest.models import SyncRun
from diogen.processing.models import SyncRequest


def request_sync(
    session: Session, source: str, now: datetime, by: str | None, request_id: str | None = None
) -> SyncRequest:
    """Record that `source` should be synced (asked by user `by` in API request `request_id`);
    the same instant asked twice is one request."""
    request = session.get(SyncRequest, stable_id("worker", "sync_request", source, now))
    if request is None:
        request = SyncRequest(
            id=stable_id("worker", "sync_request", source, now),
            source=source,
            requested_at=now,
            requested_by=by,
            request_id=request_id,
        )
        session.add(request)
        session.flush()
    return request


def pending_requests(session: Session) -> dict[str, datetime]:
    """Per source, its newest request that no run has started after."""
    newest = (
        select(SyncRequest.source, func.max(SyncRequest.requested_at).label("at"))
        .group_by(SyncRequest.source)
        .subquery()
    )
    last_run = (
        select(SyncRun.source, func.max(SyncRun.started_at).label("at"))
        .group_by(SyncRun.source)
        .subquery()
    )
    rows = session.execute(
        select(newest.c.source, newest.c.at, last_run.c.at).outerjoin(
            last_run, last_run.c.source == newest.c.source
        )
    )
    return {source: asked for source, asked, ran in rows if ran is None or _after(asked, ran)}


def _after(asked: datetime, ran: datetime) -> bool:
    # SQLite hands back naive UTC times; compare like with like.
    return asked.replace(tzinfo=None) >= ran.replace(tzinfo=None)


def asking_request_id(session: Session, source: str) -> str | None:
    """The API request id of the newest request of `source` that no run has answered yet."""
    asked = pending_requests(session).get(source)
    if asked is None:
        return None
    return session.scalar(
        select(SyncRequest.request_id)
        .where(SyncRequest.source == source, SyncRequest.requested_at == asked)
        .limit(1)
    )

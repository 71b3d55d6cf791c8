"""Sources and the quarantine: what `diogen status` shows, syncs asked for, rejected records.

Sync runs, cursors, dead letters and quarantined records belong to no organisation (a source
may feed several), so only an instance administrator reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.accounts.errors import ConflictError
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.pagination import Page, paginate, sort_choices
from diogen.api.routes.common import DEFAULT_PAGE, Cursor, Limit, answer, api_router, audit, missing
from diogen.api.routes.connections import connection_names
from diogen.bus import make_bus
from diogen.ingest.models import QuarantinedRecord, SyncCursor, SyncRun
from diogen.logs import request_id
from diogen.processing.scheduler import describe, plan
from diogen.processing.status import pipeline_status
from diogen.processing.sync_requests import pending_requests, request_sync
from diogen.processing.worker import GROUP

router = api_router("sources")
QUARANTINE_SORTS = {
    "received_at": QuarantinedRecord.received_at,
    "source": QuarantinedRecord.source,
    "id": QuarantinedRecord.id,
}
SOURCE_EXAMPLE: JsonDict = {
    "source": "github:acme/api",
    "last_status": "succeeded",
    "last_started": "2024-03-01T09:00:00Z",
    "last_finished": "2024-03-01T09:02:10Z",
    "last_records": 1200,
    "last_error": None,
    "failures_since_success": 0,
    "cursor_updated": "2024-03-01T09:02:09Z",
    "unpublished": 0,
    "quarantined": 2,
    "dead_letters": 0,
    "rate_limit_remaining": 4410,
    "cursors": [{"stream": "pulls", "updated_at": "2024-03-01T09:02:09Z"}],
    "can_sync": False,
    "sync_requested_at": None,
    "schedule": "cannot be scheduled: no GitHub token is set: DIOGEN_GITHUB_TOKEN or GITHUB_TOKEN",
    "connection": None,
}
REQUEST_EXAMPLE: JsonDict = {
    "source": "git:shop",
    "requested_at": "2024-03-01T09:05:00Z",
    "detail": "queued: the next scheduler tick of a running `diogen worker` syncs it",
}
NOT_SCHEDULED = (
    "the worker cannot run a sync of {source}: it runs stored connections (POST /connections) "
    "and rebuilds syncs of git repositories with a location and of GitHub, Jira, Linear and "
    "Asana sources synced once (docs/pipeline.md); run `diogen sync ...` on the server"
)
QUEUED = "queued: the next scheduler tick of a running `diogen worker` syncs it"
QUARANTINE_EXAMPLE: JsonDict = {
    "id": "9d2e...",
    "source": "jira:acme",
    "stream": "issues",
    "natural_key": "ENG-12",
    "received_at": "2024-03-01T09:01:00Z",
    "error": "fields.created: not a date: 'yesterday'",
    "payload": '{"key": "ENG-12", "fields": {"created": "yesterday"}}',
}


class StreamCursor(BaseModel):
    stream: str
    updated_at: datetime


class SourceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SOURCE_EXAMPLE]})
    source: str
    last_status: str | None
    last_started: datetime | None
    last_finished: datetime | None
    last_records: int
    last_error: str | None
    failures_since_success: int
    cursor_updated: datetime | None
    unpublished: int
    quarantined: int
    dead_letters: int
    rate_limit_remaining: int | None
    cursors: list[StreamCursor]
    can_sync: bool = Field(description="Whether POST /sources/{source}/sync can queue it.")
    sync_requested_at: datetime | None = Field(description="A requested sync not yet started.")
    schedule: str | None = Field(
        description="The worker's scheduled syncs: 'every 30 min', 'cannot be scheduled: "
        "<why>', or null when it does not sync this source."
    )
    connection: str | None = Field(
        None, description="The stored connection feeding it (GET /connections), if any."
    )


class SyncRequestOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REQUEST_EXAMPLE]})
    source: str
    requested_at: datetime
    detail: str


class SourcesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bus": "embedded",
                    "group": "silver",
                    "lag": {"bronze.github": 0},
                    "dead_letters": 0,
                    "stale_windows": 0,
                    "items": [SOURCE_EXAMPLE],
                }
            ]
        }
    )
    bus: str
    group: str
    lag: dict[str, int]
    dead_letters: int
    stale_windows: int
    items: list[SourceOut]


class QuarantinedOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [QUARANTINE_EXAMPLE]}
    )
    id: str
    source: str
    stream: str
    natural_key: str | None
    received_at: datetime
    error: str
    payload: str


def _budgets(session: Session) -> dict[str, int]:
    """The rate-limit budget the last run of each source saw left, when its provider said."""
    budgets: dict[str, int] = {}
    runs = session.execute(
        select(SyncRun.source, SyncRun.summary).order_by(SyncRun.source, SyncRun.started_at.desc())
    )
    seen: set[str] = set()
    for source, summary in runs:
        if source in seen:
            continue
        seen.add(source)
        remaining = (summary or {}).get("rate_limit_remaining")
        if isinstance(remaining, int):
            budgets[source] = remaining
    return budgets


def _cursors(session: Session) -> dict[str, list[StreamCursor]]:
    found: dict[str, list[StreamCursor]] = {}
    rows = session.execute(
        select(SyncCursor.source, SyncCursor.stream, SyncCursor.updated_at).order_by(
            SyncCursor.source, SyncCursor.stream
        )
    )
    for source, stream, updated in rows:
        found.setdefault(source, []).append(StreamCursor(stream=stream, updated_at=updated))
    return found


@router.get("/sources", response_model=SourcesOut)
def list_sources(session: SessionDep, principal: PrincipalDep, state: StateDep) -> SourcesOut:
    """Per source: the last sync and its error, failed syncs since the last success, cursors,
    events not yet published, quarantined records, dead letters and the rate-limit budget left
    after the last sync (null when the provider does not say); `diogen status --format json`.
    Instance administrators only."""
    principal.require_superuser()
    planned = plan(session, state.settings)
    bus = make_bus(state.settings, state.engine)
    try:
        status = pipeline_status(session, bus, GROUP, describe(planned))
    finally:
        bus.close()
    budgets, cursors = _budgets(session), _cursors(session)
    schedulable = {job.source for job in planned.jobs}
    pending = pending_requests(session)
    connected = connection_names(session)
    document: dict[str, Any] = status.as_dict()
    items = [
        SourceOut(
            **row,
            rate_limit_remaining=budgets.get(row["source"]),
            cursors=cursors.get(row["source"], []),
            can_sync=row["source"] in schedulable,
            sync_requested_at=pending.get(row["source"]),
            connection=connected.get(row["source"]),
        )
        for row in document.pop("sources")
    ]
    return SourcesOut(**document, items=items)


@router.post(
    "/sources/{source:path}/sync",
    response_model=SyncRequestOut,
    status_code=202,
    responses={409: {"description": "The worker cannot rebuild this source's sync."}},
)
def request_source_sync(
    source: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> SyncRequestOut:
    """Queue a sync of the source for the worker (instance administrators). Answers 202: a
    running `diogen worker` runs it at its next scheduler tick, under the source's lock; until
    then `GET /sources` shows it in `sync_requested_at`. Git repositories with a location, and
    GitHub, Jira, Linear and Asana sources synced once whose secrets the settings hold (409
    with the reason for other sources, 404 for unknown ones)."""
    principal.require_superuser()
    planned = plan(session, state.settings)
    if source not in {job.source for job in planned.jobs}:
        known = session.scalar(select(SyncRun.id).where(SyncRun.source == source).limit(1))
        if known is None and source not in connection_names(session):
            raise missing("source", source)
        if source in planned.refused:
            reason = f"{source} cannot be scheduled: {planned.refused[source]}"
            raise ConflictError(reason, source=source)
        raise ConflictError(NOT_SCHEDULED.format(source=source), source=source)
    request = request_sync(session, source, state.clock(), principal.user_id, request_id.get())
    audit(session, state, principal, "source.sync", request.id, None, {"source": source})
    return SyncRequestOut(source=source, requested_at=request.requested_at, detail=QUEUED)


@router.get("/quarantine", response_model=Page[QuarantinedOut])
def list_quarantine(
    session: SessionDep,
    principal: PrincipalDep,
    source: Annotated[str | None, Query(max_length=255)] = None,
    stream: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(QUARANTINE_SORTS)))] = "-received_at",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Records rejected by normalisation, with the reason, kept for inspection and replay
    (`diogen replay`). Instance administrators only."""
    principal.require_superuser()
    stmt = select(QuarantinedRecord)
    if source is not None:
        stmt = stmt.where(QuarantinedRecord.source == source)
    if stream is not None:
        stmt = stmt.where(QuarantinedRecord.stream == stream)
    rows, after = paginate(
        session,
        stmt,
        sort=sort,
        fields=QUARANTINE_SORTS,
        id_column=QuarantinedRecord.id,
        cursor=cursor,
        limit=limit,
    )
    return answer(
        Page[QuarantinedOut](
            items=[QuarantinedOut.model_validate(r) for r in rows], next_cursor=after
        )
    )

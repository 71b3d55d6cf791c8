"""Source connections: the sources the worker syncs, with write-only secrets.

A connection belongs to no organisation (a source may feed several), so, like the sources and
the quarantine, only an instance administrator manages it. Secrets are accepted on create and
update and never returned: answers say only whether each is set and when it was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.api.access import Principal
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.pagination import Page, paginate, sort_choices
from diogen.api.routes.common import DEFAULT_PAGE, Cursor, Limit, answer, api_router, audit
from diogen.processing.scheduler import Plan, connection_schedule, plan
from diogen.sources import service
from diogen.sources.kinds import KIND_NAMES
from diogen.sources.models import SourceConnection

router = api_router("sources")
SORTS = {"name": SourceConnection.name, "kind": SourceConnection.kind, "id": SourceConnection.id}
Kind = Literal["git", "github", "jira", "linear", "asana"]
assert set(KIND_NAMES) == {"git", "github", "jira", "linear", "asana"}
SecretValue = Annotated[str, Field(min_length=1, max_length=10_000)]
CONNECTION_EXAMPLE: JsonDict = {
    "id": "c0ffee...",
    "kind": "github",
    "name": "acme-github",
    "source": "github",
    "options": {"repos": ["acme/api"], "releases": True},
    "secrets": {"token": {"set": True, "updated_at": "2024-03-01T09:00:00Z"}},
    "interval_minutes": 30.0,
    "enabled": True,
    "schedule": "every 30 min",
    "last_test": {"at": "2024-03-01T09:01:00Z", "ok": True, "detail": "authenticated"},
    "created_at": "2024-03-01T09:00:00Z",
    "updated_at": "2024-03-01T09:00:00Z",
}
CREATE_EXAMPLE: JsonDict = {
    "kind": "github",
    "name": "acme-github",
    "options": {"repos": ["acme/api"], "releases": True},
    "secrets": {"token": "ghp_..."},
    "interval_minutes": 30,
}
TEST_EXAMPLE: JsonDict = {
    "connection_id": "c0ffee...",
    "ok": False,
    "detail": "https://api.github.com/rate_limit answered 401: Bad credentials",
    "tested_at": "2024-03-01T09:01:00Z",
    "source": "github",
}


class SecretState(BaseModel):
    set: bool
    updated_at: datetime | None


class LastTest(BaseModel):
    at: datetime
    ok: bool
    detail: str | None


class ConnectionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CONNECTION_EXAMPLE]})
    id: str
    kind: str
    name: str
    source: str | None = Field(description="The sync source it feeds; null until known.")
    options: dict[str, Any]
    secrets: dict[str, SecretState] = Field(description="Which secrets are set; never values.")
    interval_minutes: float | None = Field(description="null: the kind's default interval.")
    enabled: bool
    schedule: str | None = Field(
        description="'every 30 min', 'cannot be scheduled: <why>', or null when not scheduled."
    )
    last_test: LastTest | None
    created_at: datetime
    updated_at: datetime


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CREATE_EXAMPLE]})
    kind: Kind
    name: str = Field(min_length=1, max_length=255, pattern=r"^[^\s/][^/]*$")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="The options of `diogen sync <kind>`'s connector config (docs/api.md).",
    )
    secrets: dict[str, SecretValue] = Field(
        default_factory=dict, description="Write-only: github/jira/asana `token`, linear `api_key`."
    )
    interval_minutes: float | None = Field(None, ge=0, le=525_600)
    enabled: bool = True


class ConnectionPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"secrets": {"token": "ghp_new..."}, "enabled": True}]},
    )
    name: str | None = Field(None, min_length=1, max_length=255, pattern=r"^[^\s/][^/]*$")
    options: dict[str, Any] | None = Field(None, description="Replaces the options whole.")
    secrets: dict[str, SecretValue | None] | None = Field(
        None, description="Per secret: a new value, or null to clear it; others stay."
    )
    interval_minutes: float | None = Field(None, ge=0, le=525_600)
    enabled: bool | None = None


class TestOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [TEST_EXAMPLE]})
    connection_id: str
    ok: bool
    detail: str
    tested_at: datetime
    source: str | None


def _out(row: SourceConnection, planned: Plan) -> ConnectionOut:
    tested = None
    if row.tested_at is not None and row.test_ok is not None:
        tested = LastTest(at=row.tested_at, ok=row.test_ok, detail=row.test_detail)
    return ConnectionOut(
        id=row.id,
        kind=row.kind,
        name=row.name,
        source=row.source,
        options=row.config,
        secrets={k: SecretState(**v) for k, v in service.secret_state(row).items()},
        interval_minutes=row.interval_minutes,
        enabled=row.enabled,
        schedule=connection_schedule(planned, row),
        last_test=tested,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _one(session: Session, principal: Principal, connection_id: str) -> SourceConnection:
    principal.require_superuser()
    return service.find(session, connection_id)


def _audited(row: SourceConnection, changes: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a write: the names of secrets changed, never their values."""
    kept = {k: v for k, v in changes.items() if k != "secrets"}
    if changes.get("secrets"):
        kept["changed_credentials"] = sorted(changes["secrets"])
    return {**kept, "source": row.source}


@router.get("/connections", response_model=Page[ConnectionOut])
def list_connections(
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
    kind: Annotated[Kind | None, Query()] = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(SORTS)))] = "name",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Stored source connections with their schedule (or why they cannot be scheduled) and
    their last test; secrets only as set/unset. Instance administrators only."""
    principal.require_superuser()
    stmt = select(SourceConnection)
    if kind is not None:
        stmt = stmt.where(SourceConnection.kind == kind)
    rows, after = paginate(
        session,
        stmt,
        sort=sort,
        fields=SORTS,
        id_column=SourceConnection.id,
        cursor=cursor,
        limit=limit,
    )
    planned = plan(session, state.settings)
    return answer(Page[ConnectionOut](items=[_out(r, planned) for r in rows], next_cursor=after))


@router.post("/connections", response_model=ConnectionOut, status_code=201)
def create_connection(
    body: ConnectionIn, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> ConnectionOut:
    """Store a connection; its options are checked as `diogen sync <kind>` checks them and
    its secrets encrypted with `DIOGEN_SECRET_KEY` (400 when secrets are given without it).
    409 for a name or a source another connection has. Instance administrators only."""
    principal.require_superuser()
    row = service.create(
        session,
        state.settings,
        state.clock(),
        kind=body.kind,
        name=body.name,
        options=body.options,
        secrets=body.secrets,
        interval_minutes=body.interval_minutes,
        enabled=body.enabled,
    )
    audit(
        session,
        state,
        principal,
        "connection.create",
        row.id,
        None,
        _audited(row, body.model_dump()),
    )
    return _out(row, plan(session, state.settings))


@router.get("/connections/{connection_id}", response_model=ConnectionOut)
def get_connection(
    connection_id: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> Response:
    """One connection, by id or name."""
    row = _one(session, principal, connection_id)
    return answer(_out(row, plan(session, state.settings)))


@router.patch("/connections/{connection_id}", response_model=ConnectionOut)
def update_connection(
    connection_id: str,
    body: ConnectionPatch,
    session: SessionDep,
    principal: PrincipalDep,
    state: StateDep,
) -> ConnectionOut:
    """Change what is given: rename, replace the options, set or clear (null) secrets, the
    interval (null: the kind's default; 0: no scheduled syncs), enable or disable."""
    row = _one(session, principal, connection_id)
    changes = body.model_dump(exclude_unset=True)
    service.update(session, state.settings, row, state.clock(), changes)
    audit(session, state, principal, "connection.update", row.id, None, _audited(row, changes))
    return _out(row, plan(session, state.settings))


@router.delete("/connections/{connection_id}", status_code=204)
def delete_connection(
    connection_id: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> Response:
    """Remove a connection and its secrets; what it synced stays (its source, cursors, data)."""
    row = _one(session, principal, connection_id)
    audit(session, state, principal, "connection.delete", row.id, None, {"name": row.name})
    session.delete(row)
    return Response(status_code=204)


@router.post("/connections/{connection_id}/test", response_model=TestOut)
def test_connection(
    connection_id: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> TestOut:
    """Call the provider once with the connection's credentials (GitHub `/rate_limit`, Jira
    `/myself`, Linear's `organization`, Asana `/users/me`, git `ls-remote`) and answer 200
    with `ok` and the provider's own words, whatever it said. Linear: names the source."""
    row = _one(session, principal, connection_id)
    result = service.test(session, state.settings, row, state.clock())
    audit(session, state, principal, "connection.test", row.id, None, {"ok": result.ok})
    assert row.tested_at is not None
    return TestOut(
        connection_id=row.id,
        ok=result.ok,
        detail=result.detail,
        tested_at=row.tested_at,
        source=row.source,
    )


def connection_names(session: Session) -> dict[str, str]:
    """Per source, the connection that feeds it."""
    rows = session.execute(
        select(SourceConnection.source, SourceConnection.name).where(
            SourceConnection.source.is_not(None)
        )
    )
    return {source: name for source, name in rows if source is not None}

"""Engines, sessions, column types and the idempotent upsert every writer uses.

Engines are built by `make_engine` at the edge (CLI command, app start-up); sessions are
committed by `session_scope` at that same edge, never inside services.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Dialect,
    Engine,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeDecorator

from diogen.errors import StorageError
from diogen.pgupsert import COPY_MIN_ROWS, sortable, upsert_postgresql

UPSERT_BATCH = 2000
SQLITE_CACHE_KIB = 65536
# Connections are replaced after this long, before a server or firewall idle timeout drops them.
RECYCLE_SECONDS = 1800


def normalize_url(url: str) -> URL:
    """Parse `url`, choosing our PostgreSQL driver for a plain `postgresql://` URL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"not a database URL: {url!r}", url=url) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StorageError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://",
            url=url,
        )
    return parsed


class SerializedJson(dict[str, Any]):
    """A JSON document that already has its text: written as that text, not encoded again."""

    def __init__(self, document: dict[str, Any], text: str) -> None:
        super().__init__(document)
        self.text = text


class JsonText(str):
    """A JSON document given as its text alone: written as it is."""


def dumps_json(value: Any) -> str:
    if isinstance(value, SerializedJson):
        return value.text
    if isinstance(value, JsonText):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


# Connections a PostgreSQL engine's pool holds at most (SQLAlchemy's default, 5 + 10).
POOL_CONNECTIONS = 15
# How often PostgreSQL checks, during a long statement, that its client is still there.
CLIENT_CHECK_SECONDS = 5
CLIENT_CHECK_SINCE = 140000  # server_version_num of PostgreSQL 14


def make_engine(
    url: str, *, pre_ping: bool = True, statement_timeout: float = 0, keep_connections: bool = False
) -> Engine:
    """An engine for `url`, checked to be reachable; SQLite gets WAL and foreign keys.

    `pre_ping=False` (the API) saves the round trip that checks every PostgreSQL connection
    before each use: a connection dropped meanwhile then fails the one request using it (a
    503), and the pool replaces every connection older than that failure.
    `statement_timeout` (seconds, PostgreSQL only; 0: none) is set on every connection.
    `keep_connections` (the API) keeps every PostgreSQL connection the pool opens, up to the
    same 15 at once: by default only 5 are kept, and a server answering more requests at
    once than that opened and closed a connection (a new backend process) for one request
    in ten.
    """
    parsed = normalize_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_path(parsed, shown)
        engine = create_engine(parsed, connect_args={"timeout": 30}, json_serializer=dumps_json)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            parsed,
            pool_pre_ping=pre_ping,
            pool_recycle=RECYCLE_SECONDS,
            pool_size=POOL_CONNECTIONS if keep_connections else 5,
            max_overflow=0 if keep_connections else POOL_CONNECTIONS - 5,
            connect_args={"connect_timeout": 5},
            json_serializer=dumps_json,
        )
        event.listen(engine, "connect", partial(_postgresql_session, statement_timeout))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StorageError(f"cannot connect to database {shown}: {reason}", url=shown) from exc
    return engine


def _check_sqlite_path(url: URL, shown: str) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise StorageError(
                f"cannot open database {shown}: directory {parent} does not exist", url=shown
            )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Ids are random hashes, so inserts land all over each index: keep the hot pages cached.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    # Statement journals in memory: a statement whose triggers write elsewhere (gold's change
    # log) keeps one per executed row, and in a temp file that cost 30 µs a row.
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _postgresql_session(statement_timeout: float, dbapi_connection: Any, _record: Any) -> None:
    # Times then arrive in `UTC` itself, which `UTCDateTime` passes through as they are;
    # committed, or the rollback that ends the pool's first use would undo it.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
        # A statement whose process died (a killed worker, server or command) is stopped once
        # the server sees the connection gone, instead of running to its end: a report's
        # statement left behind by a killed benchmark ran on for 30 minutes. PostgreSQL 14+.
        if dbapi_connection.info.server_version >= CLIENT_CHECK_SINCE:
            cursor.execute(f"SET client_connection_check_interval = {CLIENT_CHECK_SECONDS * 1000}")
        if statement_timeout:
            cursor.execute(f"SET statement_timeout = {max(1, round(statement_timeout * 1000))}")
    dbapi_connection.commit()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed when the block ends and rolled back if it raises."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone, so values are normalised to UTC before they are written.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Diogen stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite one function each way instead of SQLAlchemy's text conversion wrapped in ours:
    # reports read and syncs write hundreds of thousands of these (a third of the cost).
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_utc
        return super().result_processor(dialect, coltype)


# The last time converted and its text: a bulk write repeats one time over many rows (its
# bronze rows' fetch time and their outbox events', half of a git sync's 120,000 times).
# Holding the value keeps its identity from being reused; the pair is replaced whole, so a
# thread reading it never sees one value with another's text.
_last_text: tuple[datetime | None, str | None] = (None, None)


def _sqlite_text(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME writes ("2024-01-02 03:04:05.000000"), in UTC."""
    global _last_text
    last, text = _last_text
    if value is last:
        return text
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: Diogen stores aware UTC times only")
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_text = (value, text)
    return text


def _sqlite_utc(value: str | None) -> datetime | None:
    # Parsing the offset gives `UTC` itself, and costs a seventh of `.replace(tzinfo=UTC)`.
    return None if value is None else datetime.fromisoformat(value + "+00:00")


def among(session: Session, column: Any, values: list[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL one array parameter, since an IN list of thousands of
    values costs more to render and bind than the statement costs the database."""
    if session.get_bind().dialect.name == "postgresql":
        array = postgresql.ARRAY(column.type)
        result: ColumnElement[bool] = column == any_(
            bindparam(f"{column.name}_among", values, type_=array)
        )
        return result
    listed: ColumnElement[bool] = column.in_(values)
    return listed


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Iterable[str] = ("id",),
    update: Iterable[str] | None = None,
    protect: str | None = None,
) -> None:
    """Insert `rows`, or update `update` columns of rows whose `key` exists (all other columns
    by default). With `update=()` existing rows are left as they are; an existing row whose
    boolean column `protect` is true is left as it is too."""
    if not rows:
        return
    key = list(key)
    columns = list(rows[0].keys())
    to_update = [c for c in columns if c not in key] if update is None else list(update)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        upsert_postgresql(session, table, rows, key=key, update=to_update, protect=protect)
        return
    if dialect == "postgresql":
        # Key order, as the bulk path: concurrent writers lock shared rows in one order.
        rows = sorted(rows, key=lambda row: sortable(tuple(row[k] for k in key)))
    stmt = _upsert_statement(dialect, table, key, to_update, protect)
    execute_many(session, stmt, columns, rows)


def upsert_tuples(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    update: Iterable[str] | None = None,
    protect: str | None = None,
) -> None:
    """`upsert` of rows given as tuples of the values of `columns`, in that order, keyed by
    id: bulk writers that build tuples need not build a dictionary per row."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        dicts = [dict(zip(columns, row, strict=True)) for row in rows]
        upsert(session, table, dicts, update=update, protect=protect)
        return
    to_update = [c for c in columns if c != "id"] if update is None else list(update)
    stmt = _upsert_statement(dialect, table, ["id"], to_update, protect)
    execute_many(session, stmt, list(columns), rows, tuples=True)


def _upsert_statement(
    dialect: str, table: Table, key: list[str], update: list[str], protect: str | None
) -> ClauseElement:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    if update:
        guard = table.c[protect].is_not(True) if protect else None
        return stmt.on_conflict_do_update(
            index_elements=key, set_={c: stmt.excluded[c] for c in update}, where=guard
        )
    return stmt.on_conflict_do_nothing(index_elements=key)


def execute_many(
    session: Session,
    stmt: ClauseElement,
    columns: list[str],
    rows: Sequence[Any],
    *,
    tuples: bool = False,
) -> None:
    """Run `stmt` once per row through the driver's executemany; rows are mappings, or with
    `tuples` tuples of the values of `columns` in that order.

    The statement is compiled once and each column's bind processor (the same conversions
    SQLAlchemy applies) is looked up once, instead of per row: for hundreds of thousands of
    rows that per-row bookkeeping costs as much as the database itself.
    """
    connection = session.connection()
    dialect = connection.dialect
    compiled = stmt.compile(dialect=dialect, column_keys=columns)
    assert isinstance(compiled, SQLCompiler)
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    getter = _getter([columns.index(n) for n in names] if tuples else names)
    processors = [
        (index, processor)
        for index, name in enumerate(names)
        if (processor := compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    as_given = tuples and names == columns and not processors
    for start in range(0, len(rows), UPSERT_BATCH):
        chunk = rows[start : start + UPSERT_BATCH]
        params = chunk if as_given else [_row_values(getter, row, processors) for row in chunk]
        if compiled.positional:
            connection.exec_driver_sql(compiled.string, params)
        else:
            connection.exec_driver_sql(
                compiled.string, [dict(zip(names, p, strict=True)) for p in params]
            )


def _getter(keys: list[Any]) -> Callable[[Any], tuple[Any, ...]]:
    pick = itemgetter(*keys)
    # itemgetter of one key returns the bare value, not a 1-tuple.
    return (lambda row: (pick(row),)) if len(keys) == 1 else pick


def _row_values(
    getter: Callable[[Any], tuple[Any, ...]],
    row: Any,
    processors: list[tuple[int, Any]],
) -> tuple[Any, ...]:
    values = getter(row)
    if not processors:
        return values
    converted = list(values)
    for index, process in processors:
        converted[index] = process(converted[index])
    return tuple(converted)

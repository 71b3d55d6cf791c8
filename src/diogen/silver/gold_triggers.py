"""The triggers that log every write of a silver row gold reads in `gold_change_log`.

Every write of a silver row gold reads (a commit, a pull request, a listed commit, a
deployment, a deployed-commit link) appends the written key to the log, whichever writer it is
(a sync, a webhook, the events API, a bus processor, a replay, a test's session, PostgreSQL's
COPY): none can forget it. Updates of columns gold does not read (a pull request's state, a
deployment's verdict) log nothing. On SQLite neither do writes to a repository logged whole
(`REPOSITORY`: a bulk sync logs it so, `ingest.runner`), which the refresh rebuilds whole
anyway: a first sync of 30,000 commits logged 60,000 keys for nothing.

The triggers are created by migration 0011 and, for `create_all`, by `install_triggers` after
the tables (the same statements; a change to them is a new migration: 0014 recreated SQLite's
with that guard, and 0011 asks for them without it, as 0010 keeps its own copy). SQLite runs
a row trigger per written row; PostgreSQL runs a statement trigger over the statement's
transition table, so a COPY of a million commits logs them in one statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, MetaData, event, inspect, text

from diogen.silver.base import Base
from diogen.silver.gold import COMMIT, DEPLOYMENT, PULL_REQUEST, WHOLE_CONDITION


@dataclass(frozen=True)
class _Watched:
    """A silver table gold reads: the columns whose change can change gold (other updates do
    not make gold stale), and the keys a written row makes stale, as SQL selects of
    (repository id, key) over the row `{row}`."""

    table: str
    kind: str
    columns: tuple[str, ...]
    sources: tuple[str, ...]


_ITSELF = ("SELECT {row}.repository_id, {row}.id",)
_ITS_PULL_REQUEST = (
    "SELECT pull_request.repository_id, pull_request.id FROM pull_request"
    " WHERE pull_request.id = {row}.pull_request_id",
)
# Whether a review counts as the first (`pull_queries.first_review_at`) depends on who
# wrote it and who opened the pull request: their bot flags and whether they are one person.
_PULL_REQUESTS_OF_IDENTITY = (
    "SELECT pull_request.repository_id, pull_request.id FROM pull_request"
    " WHERE pull_request.author_identity_id = {row}.id",
    "SELECT pull_request.repository_id, pull_request.id FROM review"
    " JOIN pull_request ON pull_request.id = review.pull_request_id"
    " WHERE review.reviewer_identity_id = {row}.id",
)
_PULL_REQUESTS_OF_PERSON = (
    "SELECT pull_request.repository_id, pull_request.id FROM identity"
    " JOIN pull_request ON pull_request.author_identity_id = identity.id"
    " WHERE identity.person_id = {row}.id",
    "SELECT pull_request.repository_id, pull_request.id FROM identity"
    " JOIN review ON review.reviewer_identity_id = identity.id"
    " JOIN pull_request ON pull_request.id = review.pull_request_id"
    " WHERE identity.person_id = {row}.id",
)

_WATCHED = (
    _Watched(
        "git_commit",
        COMMIT,
        (
            "repository_id",
            "sha",
            "authored_at",
            "author_email",
            "subject",
            "is_merge",
            "author_identity_id",
        ),
        _ITSELF,
    ),
    _Watched(
        "pull_request",
        PULL_REQUEST,
        (
            "repository_id",
            "number",
            "merge_commit_sha",
            "author_identity_id",
            "created_at",
            "ready_for_review_at",
            "first_review_at",
            "merged_at",
            "head_ref",
            "labels",
        ),
        _ITSELF,
    ),
    _Watched("pull_request_commit", PULL_REQUEST, ("pull_request_id", "sha"), _ITS_PULL_REQUEST),
    _Watched(
        "review",
        PULL_REQUEST,
        ("pull_request_id", "reviewer_identity_id", "submitted_at"),
        _ITS_PULL_REQUEST,
    ),
    _Watched("identity", PULL_REQUEST, ("person_id", "is_bot"), _PULL_REQUESTS_OF_IDENTITY),
    _Watched("person", PULL_REQUEST, ("is_bot",), _PULL_REQUESTS_OF_PERSON),
    _Watched(
        "deployment",
        DEPLOYMENT,
        ("repository_id", "environment", "status", "finished_at"),
        _ITSELF,
    ),
    _Watched(
        "deployment_commit",
        DEPLOYMENT,
        ("deployment_id", "commit_id"),
        (
            "SELECT deployment.repository_id, deployment.id FROM deployment"
            " WHERE deployment.id = {row}.deployment_id",
        ),
    ),
)
_LOG = "INSERT INTO gold_change_log (repository_id, kind, key)"


# A repository logged whole is rebuilt whole: its keys need no logging until the refresh
# claims that row. SQLite only: it has one writer at a time, so a refresh cannot claim the row
# while a writer's trigger is reading it. On PostgreSQL a writer could read it just before a
# refresh's uncommitted claim, and its keys would be logged nowhere.
def _whole(repository: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM gold_change_log AS whole"
        f" WHERE whole.repository_id = {repository} AND whole.{WHOLE_CONDITION})"
    )


def _sqlite_triggers(watched: _Watched, *, skip_whole: bool) -> list[str]:
    # A row that is its own key is skipped by the trigger's WHEN, which spares running its body
    # (a third of a bulk insert's cost); keys found through other rows are skipped one by one.
    itself = skip_whole and watched.sources == _ITSELF
    guard = f" AND NOT {_whole('stale.repository_id')}" if skip_whole and not itself else ""

    def log(row: str) -> str:
        return " ".join(
            f"{_LOG} SELECT stale.repository_id, '{watched.kind}', stale.id"
            f" FROM ({source.format(row=row)}) AS stale"
            f" WHERE stale.repository_id IS NOT NULL{guard};"
            for source in watched.sources
        )

    def unless_whole(*rows: str) -> str:
        skipped = " AND ".join(_whole(f"{row}.repository_id") for row in rows)
        return f"NOT ({skipped})"

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in watched.columns)
    inserted, deleted = (unless_whole("NEW"), unless_whole("OLD")) if itself else ("", "")
    if itself:
        changed = f"({changed}) AND {unless_whole('OLD', 'NEW')}"
    name = f"gold_{watched.table}"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name}_insert AFTER INSERT ON {watched.table}"
        f" FOR EACH ROW{_when(inserted)} BEGIN {log('NEW')} END",
        f"CREATE TRIGGER IF NOT EXISTS {name}_delete AFTER DELETE ON {watched.table}"
        f" FOR EACH ROW{_when(deleted)} BEGIN {log('OLD')} END",
        f"CREATE TRIGGER IF NOT EXISTS {name}_update AFTER UPDATE ON {watched.table}"
        f" FOR EACH ROW{_when(changed)} BEGIN {log('OLD')} {log('NEW')} END",
    ]


def _when(condition: str) -> str:
    return f" WHEN {condition}" if condition else ""


def _postgres_log(watched: _Watched, rows: str, *, update: bool) -> str:
    # An UPDATE's transition tables are not paired: join them by primary key to keep the rows
    # whose watched columns changed (transition tables allow no UPDATE OF column list).
    changed = ""
    source = f"{rows} AS changed"
    if update:
        other = "old_rows" if rows == "new_rows" else "new_rows"
        source += f" JOIN {other} AS other ON other.id = changed.id"
        changed = (
            f" AND ({', '.join(f'changed.{c}' for c in watched.columns)})"
            f" IS DISTINCT FROM ({', '.join(f'other.{c}' for c in watched.columns)})"
        )
    return " ".join(
        f"{_LOG} SELECT DISTINCT stale.repository_id, '{watched.kind}', stale.id FROM {source}"
        f" CROSS JOIN LATERAL ({select.format(row='changed')}) AS stale"
        f" WHERE stale.repository_id IS NOT NULL{changed};"
        for select in watched.sources
    )


def _postgres_triggers(watched: _Watched) -> list[str]:
    statements = []
    for operation, tables in (
        ("INSERT", ("new_rows",)),
        ("DELETE", ("old_rows",)),
        ("UPDATE", ("old_rows", "new_rows")),
    ):
        name = f"gold_{watched.table}_{operation.lower()}"
        update = operation == "UPDATE"
        logs = " ".join(_postgres_log(watched, rows, update=update) for rows in tables)
        referencing = " ".join(
            f"{'NEW' if rows == 'new_rows' else 'OLD'} TABLE AS {rows}" for rows in tables
        )
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN {logs} RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON {watched.table}",
            f"CREATE TRIGGER {name} AFTER {operation} ON {watched.table}"
            f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    return statements


def trigger_statements(dialect: str, *, skip_whole: bool = True) -> list[str]:
    """The statements creating the change-log triggers on `dialect` (idempotent).

    `skip_whole=False` gives SQLite's triggers as migration 0011 made them, logging every key
    of a repository logged whole too."""
    if dialect == "postgresql":
        return [sql for watched in _WATCHED for sql in _postgres_triggers(watched)]
    return [sql for watched in _WATCHED for sql in _sqlite_triggers(watched, skip_whole=skip_whole)]


def drop_statements(dialect: str, tables: tuple[str, ...] | None = None) -> list[str]:
    """The statements dropping the triggers of `tables` (default: every watched table)."""
    names = [
        f"gold_{table}_{op}"
        for table in tables or tuple(w.table for w in _WATCHED)
        for op in ("insert", "delete", "update")
    ]
    if dialect == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {name}() CASCADE" for name in names]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


@event.listens_for(Base.metadata, "after_create")
def install_triggers(target: MetaData, connection: Connection, **_: Any) -> None:
    """After `create_all`, when the watched tables and the log are there."""
    existing = set(inspect(connection).get_table_names())
    if not {"gold_change_log", *(watched.table for watched in _WATCHED)} <= existing:
        return
    for statement in trigger_statements(connection.dialect.name):
        connection.execute(text(statement))

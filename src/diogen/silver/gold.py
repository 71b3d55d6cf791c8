"""Gold tables derived from silver per repository, and the versions that say whether they are fresh.

`gold_pull_request_commit` holds the commit ↔ pull request matching of each repository (the
rows `metrics.matching.pull_request_commits` computes from silver). Every write of a silver
row the matching reads (a commit, a pull request, a listed commit) bumps its repository's
`silver_version`, through database triggers: whichever writer it is (a sync, a webhook, the
events API, a bus processor, a replay, a test's session, PostgreSQL's COPY), none can forget
it. `gold_version` is the silver version a repository's gold rows were computed from; a report
trusts a repository's gold rows only when both are equal, and reads silver for the others.

The triggers are created by migration 0010 and, for `create_all`, by `install_triggers` after
the tables (the same statements). SQLite runs a row trigger per written row; PostgreSQL runs
a statement trigger over the statement's transition table, so a COPY of a million commits
bumps each repository once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from diogen.ids import ID_LENGTH
from diogen.silver.base import Base, ref


class GoldPullRequestCommit(Base):
    """A commit of a pull request: listed, its merge (or squash) commit, or a rebased copy."""

    __tablename__ = "gold_pull_request_commit"
    __table_args__ = (Index("ix_gold_pull_request_commit_commit_id", "commit_id"),)
    pull_request_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("pull_request.id", ondelete="CASCADE"), primary_key=True
    )
    commit_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("git_commit.id", ondelete="CASCADE"), primary_key=True
    )
    repository_id: Mapped[str] = ref("repository.id", nullable=False)


class SilverVersion(Base):
    """Bumped by the triggers on every write of a repository's matching inputs."""

    __tablename__ = "silver_version"
    repository_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class GoldVersion(Base):
    """The silver version a repository's gold rows were computed from."""

    __tablename__ = "gold_version"
    repository_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class _Watched:
    """A silver table the matching reads: how a row names its repository, and the columns
    whose change can change the matching (other updates, a pull request's state say, do not
    make gold stale)."""

    table: str
    repository: str  # an SQL expression over the row `{row}`
    columns: tuple[str, ...]


_WATCHED = (
    _Watched(
        "git_commit",
        "{row}.repository_id",
        ("repository_id", "sha", "authored_at", "author_email", "subject"),
    ),
    _Watched("pull_request", "{row}.repository_id", ("repository_id", "merge_commit_sha")),
    _Watched(
        "pull_request_commit",
        "(SELECT pull_request.repository_id FROM pull_request"
        " WHERE pull_request.id = {row}.pull_request_id)",
        ("pull_request_id", "sha"),
    ),
)
# The WHERE also keeps SQLite from reading ON CONFLICT as a join's ON (its UPSERT docs).
_BUMP_SQLITE = (
    "INSERT INTO silver_version (repository_id, version) SELECT {repository}, 1"
    " WHERE {repository} IS NOT NULL"
    " ON CONFLICT (repository_id) DO UPDATE SET version = silver_version.version + 1;"
)
# The repositories in sorted order, so concurrent writers lock their version rows alike.
_BUMP_POSTGRES = (
    "INSERT INTO silver_version (repository_id, version)"
    " SELECT DISTINCT {repository}, 1 FROM {rows} WHERE {repository} IS NOT NULL{changed}"
    " ORDER BY 1"
    " ON CONFLICT (repository_id) DO UPDATE SET version = silver_version.version + 1;"
)


def _sqlite_triggers(watched: _Watched) -> list[str]:
    def bump(row: str) -> str:
        return _BUMP_SQLITE.format(repository=watched.repository.format(row=row))

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in watched.columns)
    name = f"gold_{watched.table}"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name}_insert AFTER INSERT ON {watched.table}"
        f" FOR EACH ROW BEGIN {bump('NEW')} END",
        f"CREATE TRIGGER IF NOT EXISTS {name}_delete AFTER DELETE ON {watched.table}"
        f" FOR EACH ROW BEGIN {bump('OLD')} END",
        f"CREATE TRIGGER IF NOT EXISTS {name}_update AFTER UPDATE ON {watched.table}"
        f" FOR EACH ROW WHEN {changed} BEGIN {bump('OLD')} {bump('NEW')} END",
    ]


def _postgres_bump(watched: _Watched, rows: str, *, update: bool) -> str:
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
    return _BUMP_POSTGRES.format(
        repository=watched.repository.format(row="changed"), rows=source, changed=changed
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
        bumps = " ".join(_postgres_bump(watched, rows, update=update) for rows in tables)
        referencing = " ".join(
            f"{'NEW' if rows == 'new_rows' else 'OLD'} TABLE AS {rows}" for rows in tables
        )
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN {bumps} RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON {watched.table}",
            f"CREATE TRIGGER {name} AFTER {operation} ON {watched.table}"
            f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    return statements


def trigger_statements(dialect: str) -> list[str]:
    """The statements creating the version triggers on `dialect` (idempotent)."""
    build = _postgres_triggers if dialect == "postgresql" else _sqlite_triggers
    return [sql for watched in _WATCHED for sql in build(watched)]


def drop_statements(dialect: str) -> list[str]:
    names = [f"gold_{w.table}_{op}" for w in _WATCHED for op in ("insert", "delete", "update")]
    if dialect == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {name}() CASCADE" for name in names]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


@event.listens_for(Base.metadata, "after_create")
def install_triggers(target: MetaData, connection: Connection, **_: Any) -> None:
    """After `create_all`, when the watched tables and the version table are there."""
    existing = set(inspect(connection).get_table_names())
    if not {"silver_version", *(watched.table for watched in _WATCHED)} <= existing:
        return
    for statement in trigger_statements(connection.dialect.name):
        connection.execute(text(statement))

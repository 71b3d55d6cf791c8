"""Gold tables derived from silver per repository, and the change log that says what is stale.

- `gold_pull_request_commit`: the commit ↔ pull request matching of each repository (the rows
  `metrics.matching.pull_request_commits` computes from silver).
- `gold_change`: every change (a pull request, or a commit no pull request claims) with each
  successful deployment that shipped it, and the facts lead time needs. A report reads the
  changes of its deployments here by index instead of matching and aggregating silver.
- `gold_deployment_author`: per deployment and author, when the commits it shipped were
  written: a team scope's deployments, found from its members.

Every write of a silver row these read (a commit, a pull request, a listed commit, a
deployment, a deployed-commit link) appends the written key to `gold_change_log`, through
database triggers: whichever writer it is (a sync, a webhook, the events API, a bus processor,
a replay, a test's session, PostgreSQL's COPY), none can forget it. A repository with log rows
is stale: reports compute its part from silver until `metrics.gold.refresh_gold` has
recomputed the logged keys and deleted their rows. Updates of columns gold does not read (a
pull request's state, a deployment's verdict) log nothing. On SQLite neither do writes to a
repository logged whole (`REPOSITORY`: a bulk sync logs it so, `ingest.runner`), which the
refresh rebuilds whole anyway: a first sync of 30,000 commits logged 60,000 keys for nothing.

The triggers are created by migration 0011 and, for `create_all`, by `install_triggers` after
the tables (the same statements; a change to them is a new migration: 0012 recreated SQLite's
with that guard, and 0011 asks for them without it, as 0010 keeps its own copy). SQLite runs
a row trigger per written row; PostgreSQL runs a statement trigger over the statement's
transition table, so a COPY of a million commits logs them in one statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
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

COMMIT = "commit"
PULL_REQUEST = "pull_request"
DEPLOYMENT = "deployment"
# Logged by hand (`metrics.gold.mark_stale`), never by a trigger: rebuild the whole repository.
REPOSITORY = "repository"
WHOLE_CONDITION = f"kind = '{REPOSITORY}'"


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


class GoldChange(Base):
    """A change and a successful deployment that shipped it (for a pull request: shipped one of
    its commits), with what lead time needs of both.

    `change_id` is a pull request id or a commit id (`kind`); commits that belong to a pull
    request have no rows of their own. `author_at` is when membership is judged in a team
    scope: a commit's authored time, a pull request's creation. On SQLite the table is
    clustered by deployment, so a report reads each deployment's changes in one range.
    """

    __tablename__ = "gold_change"
    __table_args__ = (
        Index("ix_gold_change_change_id", "change_id"),
        Index("ix_gold_change_repository_id", "repository_id"),
        {"sqlite_with_rowid": False},
    )
    deployment_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("deployment.id", ondelete="CASCADE"), primary_key=True
    )
    change_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    repository_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("repository.id", ondelete="CASCADE")
    )
    environment: Mapped[str] = mapped_column(String(255))
    deployed_at: Mapped[datetime]
    sha: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[int | None] = mapped_column(Integer)
    author_identity_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    author_at: Mapped[datetime]
    # A pull request with no known commit but merges has none.
    first_commit_at: Mapped[datetime | None]
    is_merge: Mapped[bool] = mapped_column(Boolean)
    ready_for_review_at: Mapped[datetime | None]
    first_review_at: Mapped[datetime | None]
    merged_at: Mapped[datetime | None]
    # What the hotfix rule reads of a pull request.
    head_ref: Mapped[str | None] = mapped_column(String(1000))
    labels: Mapped[list[str] | None]
    # The environments in which the change shipped before this deployment finished (none:
    # NULL). A report looks for an earlier production deployment only where one can be.
    earlier_environments: Mapped[list[str] | None]


class GoldDeploymentAuthor(Base):
    """Who wrote what a successful deployment shipped: per author identity, the first and last
    authored times among its deployed commits. A team scope finds the deployments that
    shipped a member's change from its members' rows here (`metrics.team_gold`)."""

    __tablename__ = "gold_deployment_author"
    __table_args__ = (
        Index("ix_gold_deployment_author_author_identity_id", "author_identity_id"),
        Index("ix_gold_deployment_author_repository_id", "repository_id"),
        {"sqlite_with_rowid": False},
    )
    deployment_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("deployment.id", ondelete="CASCADE"), primary_key=True
    )
    author_identity_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    repository_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("repository.id", ondelete="CASCADE")
    )
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]


class GoldChangeLog(Base):
    """A key written since gold was last refreshed: (repository, kind, id of the row)."""

    __tablename__ = "gold_change_log"
    __table_args__ = (
        Index("ix_gold_change_log_repository_id", "repository_id"),
        # What SQLite's triggers look up before logging a key: is its repository logged
        # whole? An index of the whole log would have them walk every key of a bulk write.
        Index(
            "ix_gold_change_log_whole",
            "repository_id",
            sqlite_where=text(WHOLE_CONDITION),
            postgresql_where=text(WHOLE_CONDITION),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(ID_LENGTH))


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

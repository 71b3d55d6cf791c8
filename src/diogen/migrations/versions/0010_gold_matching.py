"""gold: the commit <-> pull request matching per repository, silver and gold versions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:40:00.000000

The version triggers are this revision's own copy of the statements `create_all` ran at the
time (0011 replaced them with a change log), so a migrated database and a created one bumped
versions alike. Existing repositories start stale (no gold version): reports read silver for
them until a refresh.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The repositories whose matching a written row can change, and the columns it reads.
_WATCHED = (
    (
        "git_commit",
        "{row}.repository_id",
        ("repository_id", "sha", "authored_at", "author_email", "subject"),
    ),
    ("pull_request", "{row}.repository_id", ("repository_id", "merge_commit_sha")),
    (
        "pull_request_commit",
        "(SELECT pull_request.repository_id FROM pull_request"
        " WHERE pull_request.id = {row}.pull_request_id)",
        ("pull_request_id", "sha"),
    ),
)
_BUMP_SQLITE = (
    "INSERT INTO silver_version (repository_id, version) SELECT {repository}, 1"
    " WHERE {repository} IS NOT NULL"
    " ON CONFLICT (repository_id) DO UPDATE SET version = silver_version.version + 1;"
)
_BUMP_POSTGRES = (
    "INSERT INTO silver_version (repository_id, version)"
    " SELECT DISTINCT {repository}, 1 FROM {rows} WHERE {repository} IS NOT NULL{changed}"
    " ORDER BY 1"
    " ON CONFLICT (repository_id) DO UPDATE SET version = silver_version.version + 1;"
)


def _sqlite_triggers(table: str, repository: str, columns: tuple[str, ...]) -> list[str]:
    def bump(row: str) -> str:
        return _BUMP_SQLITE.format(repository=repository.format(row=row))

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    return [
        f"CREATE TRIGGER IF NOT EXISTS gold_{table}_insert AFTER INSERT ON {table}"
        f" FOR EACH ROW BEGIN {bump('NEW')} END",
        f"CREATE TRIGGER IF NOT EXISTS gold_{table}_delete AFTER DELETE ON {table}"
        f" FOR EACH ROW BEGIN {bump('OLD')} END",
        f"CREATE TRIGGER IF NOT EXISTS gold_{table}_update AFTER UPDATE ON {table}"
        f" FOR EACH ROW WHEN {changed} BEGIN {bump('OLD')} {bump('NEW')} END",
    ]


def _postgres_bump(repository: str, columns: tuple[str, ...], rows: str, update: bool) -> str:
    changed = ""
    source = f"{rows} AS changed"
    if update:
        other = "old_rows" if rows == "new_rows" else "new_rows"
        source += f" JOIN {other} AS other ON other.id = changed.id"
        changed = (
            f" AND ({', '.join(f'changed.{c}' for c in columns)})"
            f" IS DISTINCT FROM ({', '.join(f'other.{c}' for c in columns)})"
        )
    return _BUMP_POSTGRES.format(
        repository=repository.format(row="changed"), rows=source, changed=changed
    )


def _postgres_triggers(table: str, repository: str, columns: tuple[str, ...]) -> list[str]:
    statements = []
    for operation, tables in (
        ("INSERT", ("new_rows",)),
        ("DELETE", ("old_rows",)),
        ("UPDATE", ("old_rows", "new_rows")),
    ):
        name = f"gold_{table}_{operation.lower()}"
        bumps = " ".join(
            _postgres_bump(repository, columns, rows, operation == "UPDATE") for rows in tables
        )
        referencing = " ".join(
            f"{'NEW' if rows == 'new_rows' else 'OLD'} TABLE AS {rows}" for rows in tables
        )
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN {bumps} RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER {operation} ON {table}"
            f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    return statements


def trigger_statements(dialect: str) -> list[str]:
    """The version triggers as 0010 created them (0011's downgrade creates them again)."""
    build = _postgres_triggers if dialect == "postgresql" else _sqlite_triggers
    return [sql for watched in _WATCHED for sql in build(*watched)]


def drop_statements(dialect: str) -> list[str]:
    names = [
        f"gold_{table}_{op}" for table, *_ in _WATCHED for op in ("insert", "delete", "update")
    ]
    if dialect == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {name}() CASCADE" for name in names]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


def upgrade() -> None:
    op.create_table(
        "gold_pull_request_commit",
        sa.Column("pull_request_id", sa.String(length=32), nullable=False),
        sa.Column("commit_id", sa.String(length=32), nullable=False),
        sa.Column("repository_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["commit_id"],
            ["git_commit.id"],
            name=op.f("fk_gold_pull_request_commit_commit_id_git_commit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pull_request_id"],
            ["pull_request.id"],
            name=op.f("fk_gold_pull_request_commit_pull_request_id_pull_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repository.id"],
            name=op.f("fk_gold_pull_request_commit_repository_id_repository"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "pull_request_id", "commit_id", name=op.f("pk_gold_pull_request_commit")
        ),
    )
    with op.batch_alter_table("gold_pull_request_commit", schema=None) as batch_op:
        batch_op.create_index("ix_gold_pull_request_commit_commit_id", ["commit_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_gold_pull_request_commit_repository_id"), ["repository_id"], unique=False
        )
    for name in ("silver_version", "gold_version"):
        op.create_table(
            name,
            sa.Column("repository_id", sa.String(length=32), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("repository_id", name=op.f(f"pk_{name}")),
        )
    dialect = op.get_bind().dialect.name
    for statement in trigger_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("gold_version")
    op.drop_table("silver_version")
    with op.batch_alter_table("gold_pull_request_commit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gold_pull_request_commit_repository_id"))
        batch_op.drop_index("ix_gold_pull_request_commit_commit_id")
    op.drop_table("gold_pull_request_commit")

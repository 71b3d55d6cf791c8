"""gold: changes with their deployments, and a change log instead of versions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:00:00.000000

The per-repository version counters of 0010 told that a repository was stale, not what in it;
the change log records the written keys, so a refresh recomputes those alone. The triggers
come from `diogen.silver.gold_triggers.trigger_statements`, as they were before 0014. Every repository
starts stale (a whole-repository log row): reports read silver for it until a refresh.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from diogen.silver.gold_triggers import drop_statements, trigger_statements

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERSIONED = ("git_commit", "pull_request", "pull_request_commit")
REVERT_CONDITION = "message LIKE '%This reverts commit %'"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_statements(dialect, _VERSIONED):
        op.execute(statement)
    op.drop_table("gold_version")
    op.drop_table("silver_version")
    op.create_table(
        "gold_change",
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("change_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("repository_id", sa.String(length=32), nullable=False),
        sa.Column("environment", sa.String(length=255), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("author_identity_id", sa.String(length=32), nullable=True),
        sa.Column("author_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_commit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_merge", sa.Boolean(), nullable=False),
        sa.Column("ready_for_review_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_review_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("head_ref", sa.String(length=1000), nullable=True),
        sa.Column(
            "labels", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "earlier_environments",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
            name=op.f("fk_gold_change_deployment_id_deployment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repository.id"],
            name=op.f("fk_gold_change_repository_id_repository"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deployment_id", "change_id", name=op.f("pk_gold_change")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("gold_change", schema=None) as batch_op:
        batch_op.create_index("ix_gold_change_change_id", ["change_id"], unique=False)
        batch_op.create_index("ix_gold_change_repository_id", ["repository_id"], unique=False)
    op.create_table(
        "gold_deployment_author",
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("author_identity_id", sa.String(length=32), nullable=False),
        sa.Column("repository_id", sa.String(length=32), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
            name=op.f("fk_gold_deployment_author_deployment_id_deployment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repository.id"],
            name=op.f("fk_gold_deployment_author_repository_id_repository"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "deployment_id", "author_identity_id", name=op.f("pk_gold_deployment_author")
        ),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("gold_deployment_author", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gold_deployment_author_author_identity_id", ["author_identity_id"], unique=False
        )
        batch_op.create_index(
            "ix_gold_deployment_author_repository_id", ["repository_id"], unique=False
        )
    op.create_table(
        "gold_change_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gold_change_log")),
    )
    with op.batch_alter_table("gold_change_log", schema=None) as batch_op:
        batch_op.create_index("ix_gold_change_log_repository_id", ["repository_id"], unique=False)
    with op.batch_alter_table("git_commit", schema=None) as batch_op:
        batch_op.create_index(
            "ix_git_commit_reverts",
            ["id"],
            unique=False,
            sqlite_where=sa.text(REVERT_CONDITION),
            postgresql_where=sa.text(REVERT_CONDITION),
        )
    for statement in trigger_statements(dialect, skip_whole=False):
        op.execute(statement)
    op.execute(
        "INSERT INTO gold_change_log (repository_id, kind, key)"
        " SELECT id, 'repository', id FROM repository"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_statements(dialect):
        op.execute(statement)
    with op.batch_alter_table("git_commit", schema=None) as batch_op:
        batch_op.drop_index("ix_git_commit_reverts")
    with op.batch_alter_table("gold_change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_gold_change_log_repository_id")
    op.drop_table("gold_change_log")
    with op.batch_alter_table("gold_deployment_author", schema=None) as batch_op:
        batch_op.drop_index("ix_gold_deployment_author_repository_id")
        batch_op.drop_index("ix_gold_deployment_author_author_identity_id")
    op.drop_table("gold_deployment_author")
    with op.batch_alter_table("gold_change", schema=None) as batch_op:
        batch_op.drop_index("ix_gold_change_repository_id")
        batch_op.drop_index("ix_gold_change_change_id")
    op.drop_table("gold_change")
    # 0010's tables come back empty, so every repository is stale for 0010's code until a
    # refresh; its version triggers come from 0010's own copy of them.
    for name in ("silver_version", "gold_version"):
        op.create_table(
            name,
            sa.Column("repository_id", sa.String(length=32), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("repository_id", name=op.f(f"pk_{name}")),
        )
    for statement in _revision_0010().trigger_statements(dialect):
        op.execute(statement)


def _revision_0010() -> ModuleType:
    path = Path(__file__).with_name("0010_gold_matching.py")
    spec = importlib.util.spec_from_file_location("diogen_migration_0010", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

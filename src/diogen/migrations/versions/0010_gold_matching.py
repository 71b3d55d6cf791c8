"""gold: the commit <-> pull request matching per repository, silver and gold versions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:40:00.000000

The version triggers come from `diogen.silver.gold.trigger_statements`, the statements
`create_all` runs too, so a migrated database and a created one bump versions alike. Existing
repositories start stale (no gold version): reports read silver for them until a refresh.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from diogen.silver.gold import drop_statements, trigger_statements

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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

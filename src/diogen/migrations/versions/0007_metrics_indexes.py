"""metrics index: commits by sha

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 03:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("git_commit", schema=None) as batch_op:
        batch_op.create_index("ix_git_commit_sha", ["sha"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("git_commit", schema=None) as batch_op:
        batch_op.drop_index("ix_git_commit_sha")

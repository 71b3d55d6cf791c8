"""sync requests: syncs asked for through the API, for the worker's scheduler

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_request",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_request")),
    )
    with op.batch_alter_table("sync_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_request_source"), ["source"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_request_source"))
    op.drop_table("sync_request")

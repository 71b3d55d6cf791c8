"""pull request timeline events and requested reviewers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 03:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pull_request_event",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("pull_request_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.String(length=255), nullable=True),
        sa.Column("reviewer_identity_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["pull_request_id"],
            ["pull_request.id"],
            name=op.f("fk_pull_request_event_pull_request_id_pull_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_identity_id"],
            ["identity.id"],
            name=op.f("fk_pull_request_event_reviewer_identity_id_identity"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_request_event")),
    )
    with op.batch_alter_table("pull_request_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pull_request_event_pull_request_id"), ["pull_request_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pull_request_event_reviewer_identity_id"),
            ["reviewer_identity_id"],
            unique=False,
        )

    op.create_table(
        "pull_request_reviewers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("pull_request_id", sa.String(length=32), nullable=False),
        sa.Column(
            "requested", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["pull_request_id"],
            ["pull_request.id"],
            name=op.f("fk_pull_request_reviewers_pull_request_id_pull_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_request_reviewers")),
        sa.UniqueConstraint(
            "pull_request_id", name=op.f("uq_pull_request_reviewers_pull_request_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("pull_request_reviewers")
    with op.batch_alter_table("pull_request_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pull_request_event_reviewer_identity_id"))
        batch_op.drop_index(batch_op.f("ix_pull_request_event_pull_request_id"))
    op.drop_table("pull_request_event")

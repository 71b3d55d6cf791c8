"""source connections: configured sources with encrypted secrets and a schedule

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "source_connection",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("config", JSON_DOCUMENT, nullable=False),
        sa.Column("secret_box", sa.Text(), nullable=True),
        sa.Column("secret_meta", JSON_DOCUMENT, nullable=False),
        sa.Column("interval_minutes", sa.Float(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("test_ok", sa.Boolean(), nullable=True),
        sa.Column("test_detail", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_connection")),
        sa.UniqueConstraint("name", name=op.f("uq_source_connection_name")),
        sa.UniqueConstraint("source", name=op.f("uq_source_connection_source")),
    )


def downgrade() -> None:
    op.drop_table("source_connection")

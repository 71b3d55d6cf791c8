"""sync requests: the API request that asked for the sync

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 02:00:00.000000

The worker runs the sync with that request id in its logs, so the background work an API
call caused can be followed from the call's own log line.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_request") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_request") as batch:
        batch.drop_column("request_id")

"""deployments: an index in the order the API lists them, newest first

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00.000000

`GET /deployments` sorted every deployment of an organisation to answer its newest 200
(50,000 at scale 1). SQLite takes no NULLS LAST in an index, where DESC already puts NULL
last: the same order on both.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    nulls = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    op.create_index(
        "ix_deployment_newest",
        "deployment",
        [sa.text(f"finished_at DESC{nulls}"), sa.text("id DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_deployment_newest", table_name="deployment")

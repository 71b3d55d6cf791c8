"""deployments: a service's deployments by finish time

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:00:00.000000

An incident names its service; the deployment it is attributed to is the latest successful
production one of that service before it started (`metrics.incidents`), found by index
newest first. The index leads with `service_id`, so it replaces the plain one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deployment_service_finished", "deployment", ["service_id", "finished_at"])
    op.drop_index("ix_deployment_service_id", table_name="deployment")


def downgrade() -> None:
    op.create_index("ix_deployment_service_id", "deployment", ["service_id"])
    op.drop_index("ix_deployment_service_finished", table_name="deployment")

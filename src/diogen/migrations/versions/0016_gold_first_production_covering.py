"""gold: the first-production index covers its own conditions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 16:30:00.000000

SQLite reads a partial index as covering only when its columns include those of the
conditions it is partial on: without `production_first` and `is_merge`, it looked each row up
in the table again, or read the table by its primary key instead (a team's year of lead times
~100 -> ~50 ms). PostgreSQL read the index alone before and after.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ix_gold_change_first_production"
_MICROSECONDS = ["lead_time_us", "coding_us", "pickup_us", "review_us", "deploy_us"]
_COLUMNS = ["deployment_id", "author_identity_id", "author_at", "kind", *_MICROSECONDS]
_WHERE = "production_first = {true} AND is_merge IS {false}"


def _create(columns: list[str]) -> None:
    op.create_index(
        _NAME,
        "gold_change",
        columns,
        sqlite_where=sa.text(_WHERE.format(true=1, false=0)),
        postgresql_where=sa.text(_WHERE.format(true="true", false="false")),
    )


def upgrade() -> None:
    op.drop_index(_NAME, table_name="gold_change")
    _create([*_COLUMNS, "production_first", "is_merge"])


def downgrade() -> None:
    op.drop_index(_NAME, table_name="gold_change")
    _create(_COLUMNS)

"""gold: each change's first production deployment, lead time, stages and hotfix mark

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00.000000

Precomputed on `gold_change` for the default rules (`metrics.gold_shipments`), so that a
report counts a change from one narrow row. Every repository starts stale (a
whole-repository log row): reports read silver for it until a refresh rebuilds it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MICROSECONDS = ("lead_time_us", "coding_us", "pickup_us", "review_us", "deploy_us")
_FLAGS = ("production_first", "hotfix")
_INDEXES = (
    (
        "ix_gold_change_first_production",
        ["deployment_id", "author_identity_id", "author_at", "kind", *_MICROSECONDS],
        "production_first = {true} AND is_merge IS {false}",
    ),
    (
        "ix_gold_change_shipped_again",
        ["deployment_id", "author_identity_id", "author_at", "change_id"],
        "production_first = {false} AND is_merge IS {false}",
    ),
    ("ix_gold_change_hotfix", ["deployment_id"], "hotfix = {true}"),
)

_AUTHORS = "ix_gold_deployment_author_author_identity_id"
_AUTHOR_COLUMNS = ["author_identity_id", "deployment_id", "first_at", "last_at"]


def upgrade() -> None:
    for name in _FLAGS:
        column = sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)
        op.add_column("gold_change", column)
    for name in _MICROSECONDS:
        op.add_column("gold_change", sa.Column(name, sa.BigInteger(), nullable=True))
    for name, columns, where in _INDEXES:
        op.create_index(
            name,
            "gold_change",
            columns,
            sqlite_where=sa.text(where.format(true=1, false=0)),
            postgresql_where=sa.text(where.format(true="true", false="false")),
        )
    # Covering, for a team's rows (`metrics.team_gold`).
    op.drop_index(_AUTHORS, table_name="gold_deployment_author")
    op.create_index(_AUTHORS, "gold_deployment_author", _AUTHOR_COLUMNS)
    op.execute(
        "INSERT INTO gold_change_log (repository_id, kind, key)"
        " SELECT id, 'repository', id FROM repository"
    )


def downgrade() -> None:
    op.drop_index(_AUTHORS, table_name="gold_deployment_author")
    op.create_index(_AUTHORS, "gold_deployment_author", _AUTHOR_COLUMNS[:1])
    for name, _, _ in _INDEXES:
        op.drop_index(name, table_name="gold_change")
    with op.batch_alter_table("gold_change", schema=None) as batch_op:
        for name in (*_FLAGS, *_MICROSECONDS):
            batch_op.drop_column(name)

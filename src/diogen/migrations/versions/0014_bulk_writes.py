"""bulk writes: SQLite's gold triggers log nothing of a repository logged whole

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00.000000

A bulk sync logs its repository whole, for a whole rebuild; SQLite's triggers then skip its
keys, looking the whole-repository row up in a partial index (`diogen.silver.gold_triggers`).
PostgreSQL's triggers are unchanged: there a writer could skip a key while a concurrent
refresh claims that row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from diogen.silver.gold_triggers import drop_statements, trigger_statements

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHOLE_CONDITION = "kind = 'repository'"


def upgrade() -> None:
    with op.batch_alter_table("gold_change_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gold_change_log_whole",
            ["repository_id"],
            unique=False,
            sqlite_where=sa.text(WHOLE_CONDITION),
            postgresql_where=sa.text(WHOLE_CONDITION),
        )
    _sqlite_triggers(skip_whole=True)


def downgrade() -> None:
    _sqlite_triggers(skip_whole=False)
    with op.batch_alter_table("gold_change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_gold_change_log_whole")


def _sqlite_triggers(*, skip_whole: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in drop_statements("sqlite"):
        op.execute(statement)
    for statement in trigger_statements("sqlite", skip_whole=skip_whole):
        op.execute(statement)

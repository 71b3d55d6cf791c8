"""Every silver row of a database, to compare a rebuilt silver with the one a sync left."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, select

from diogen.migrations import target_metadata

# Everything but silver: bronze, the pipeline's own tables, accounts.
NOT_SILVER = frozenset(
    {
        "app_state",
        "app_user",
        "audit_entry",
        "api_key",
        "refresh_token",
        "role_grant",
        "bus_event",
        "bus_offset",
        "dead_letter",
        "outbox_event",
        "stale_window",
        # Gold: derived from silver, with the log that says what is stale (`gold_tables`).
        "gold_pull_request_commit",
        "gold_change",
        "gold_change_log",
        "gold_deployment_author",
        "raw_record",
        "quarantined_record",
        "sync_cursor",
        "sync_run",
    }
)
Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(engine: Engine) -> Snapshot:
    """Every silver row, table by table, in primary key order."""
    found: Snapshot = {}
    with engine.connect() as connection:
        for table in target_metadata().sorted_tables:
            if table.name in NOT_SILVER:
                continue
            order = list(table.primary_key.columns)
            found[table.name] = [
                tuple(r) for r in connection.execute(select(table).order_by(*order))
            ]
    return found


def wipe_silver(engine: Engine) -> None:
    """Delete every silver row (children first), leaving bronze and cursors."""
    with engine.begin() as connection:
        for table in reversed(target_metadata().sorted_tables):
            if table.name not in NOT_SILVER:
                connection.execute(delete(table))

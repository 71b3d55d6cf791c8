"""Silver rows of a batch, written as the sync runner writes them, minus needless locks.

Rows are grouped by table and by how they update, the last version of each id winning, and
tables are written parents first. Rows of shared tables (an identity is keyed by its email or
login, not by the repository that routes its events) are written by several workers at once;
an upsert locks every row it touches until its transaction commits, so two workers upserting
the same people would take turns. Those already stored exactly so (or protected by a manual
decision, which the upsert would not override anyway) are left out: a plain read takes no lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from diogen.connectors.base import SilverRow
from diogen.db import upsert
from diogen.ingest.batch import TABLE_ORDER
from diogen.ingest.bronze import LOOKUP_CHUNK
from diogen.silver.base import Base
from diogen.silver.orphans import PERSON_TABLE, drop_unclaimed_persons

SHARED_TABLES = frozenset({"identity"})
Group = tuple[str, tuple[str, ...] | None, str | None]


def write_rows(session: Session, rows: Iterable[SilverRow]) -> None:
    groups: dict[Group, dict[str, dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row.table.name, row.update, row.protect), {})[row.values["id"]] = (
            row.values
        )
    for (name, columns, protect), by_id in sorted(
        groups.items(), key=lambda g: TABLE_ORDER[g[0][0]]
    ):
        table = Base.metadata.tables[name]
        values = list(by_id.values())
        if name in SHARED_TABLES:
            values = changed(session, table, values, columns, protect)
        upsert(session, table, values, update=columns, protect=protect)
    persons = [by_id for (name, _, _), by_id in groups.items() if name == PERSON_TABLE]
    drop_unclaimed_persons(session, {i for by_id in persons for i in by_id})


def changed(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    update: tuple[str, ...] | None,
    protect: str | None,
) -> list[dict[str, Any]]:
    """Those of `rows` (one per id) whose upsert would change the stored row."""
    if not rows:
        return rows
    columns = [c for c in rows[0] if c != "id"] if update is None else list(update)
    read = [table.c[c] for c in dict.fromkeys([*columns, *([protect] if protect else [])])]
    stored: dict[str, Any] = {}
    ids = [row["id"] for row in rows]
    for start in range(0, len(ids), LOOKUP_CHUNK):
        query = select(table.c.id, *read).where(table.c.id.in_(ids[start : start + LOOKUP_CHUNK]))
        stored.update((found.id, found) for found in session.execute(query))
    return [row for row in rows if _would_change(stored.get(row["id"]), row, columns, protect)]


def _would_change(
    stored: Any, row: dict[str, Any], columns: list[str], protect: str | None
) -> bool:
    if stored is None:
        return True
    if protect and getattr(stored, protect):
        return False
    return any(getattr(stored, c) != row[c] for c in columns)

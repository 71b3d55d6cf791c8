"""A batch of the sync runner: the raw records, bronze tuples, rejects and silver rows that
one transaction writes, grouped by table so each group is one upsert."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from diogen.connectors.base import RowSet, SilverRow
from diogen.db import upsert, upsert_tuples
from diogen.ingest import bronze, outbox
from diogen.metrics.gold import log_new_whole
from diogen.silver.base import Base
from diogen.silver.orphans import PERSON_TABLE, drop_unclaimed_persons

# Writing these can change which deployment shipped which commit.
LINKED_TABLES = {"git_commit", "git_ref", "deployment"}
# Writing these can change which issues which changes name (`silver.work_links`).
WORK_TABLES = {"git_commit", "pull_request"}
TABLE_ORDER = {table.name: index for index, table in enumerate(Base.metadata.sorted_tables)}


GroupKey = tuple[str, tuple[str, ...] | None, str | None]  # table, update, protect


@dataclass
class Batch:
    """What one transaction of the runner writes."""

    raw: list[dict[str, Any]] = field(default_factory=list)
    # Bronze rows of prepared records, as tuples (bronze.RAW_COLUMNS).
    records: list[tuple[Any, ...]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[GroupKey, dict[str, dict[str, Any]]] = field(default_factory=dict)
    sets: dict[GroupKey, list[RowSet]] = field(default_factory=dict)
    # Repositories whose commits the run writes first in this batch.
    first_commits: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.raw) + len(self.records)

    def add_rows(self, rows: list[SilverRow]) -> None:
        for row in rows:
            group = self.rows.setdefault((row.table.name, row.update, row.protect), {})
            group[row.values["id"]] = row.values

    def add_sets(self, sets: list[RowSet]) -> None:
        for rows in sets:
            self.sets.setdefault((rows.table.name, rows.update, rows.protect), []).append(rows)

    def repositories(self) -> set[str]:
        """Repositories whose commits, refs or deployments this batch writes."""
        return {r for r in self._repository_ids(LINKED_TABLES) if r}

    def committed(self) -> set[str]:
        """Repositories whose commits this batch writes."""
        return {r for r in self._repository_ids({"git_commit"}) if r}

    def work(self) -> tuple[set[str], bool]:
        """Repositories whose commits or pull requests this batch writes; whether it writes
        issues."""
        issues = any(table == "issue" for (table, _, _) in [*self.rows, *self.sets])
        return self._repository_ids(WORK_TABLES), issues

    def _repository_ids(self, tables: set[str]) -> set[str]:
        found = {
            row.get("repository_id")
            for (table, _, _), rows in self.rows.items()
            if table in tables
            for row in rows.values()
        }
        for (table, _, _), sets in self.sets.items():
            for rows in sets:
                if table in tables and "repository_id" in rows.columns:
                    at = rows.columns.index("repository_id")
                    found.update(values[at] for values in rows.rows)
        return found  # type: ignore[return-value]

    def write(self, session: Session) -> None:
        log_new_whole(session, self.first_commits)
        bronze.write_raw(session, self.raw)
        bronze.write_raw_tuples(session, self.records)
        # Silver is written inline, below: the events announce records already normalised.
        outbox.announce(session, self.raw, normalized=True)
        outbox.announce_records(session, bronze.announced(self.records), normalized=True)
        bronze.write_quarantine(session, self.rejected)
        for group in sorted({*self.rows, *self.sets}, key=lambda g: TABLE_ORDER[g[0]]):
            name, columns, protect = group
            table: Table = Base.metadata.tables[name]
            if group in self.rows:
                rows = list(self.rows[group].values())
                upsert(session, table, rows, update=columns, protect=protect)
            for row_set in self.sets.get(group, ()):
                upsert_tuples(
                    session, table, row_set.columns, row_set.rows, update=columns, protect=protect
                )
        drop_unclaimed_persons(session, self._person_ids())

    def _person_ids(self) -> set[str]:
        ids = {i for (name, _, _), rows in self.rows.items() if name == PERSON_TABLE for i in rows}
        for (name, _, _), row_sets in self.sets.items():
            if name == PERSON_TABLE:
                for row_set in row_sets:
                    at = row_set.columns.index("id")
                    ids.update(row[at] for row in row_set.rows)
        return ids

"""Gold windows to refresh: the UTC days of a repository whose silver rows a processor wrote.

Each row is placed at the time that decides where it counts: a deployment at its finish, a
pull request at its merge (else its creation), a commit when committed, an incident when it
started. Other rows (people, files) move no window of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from diogen.bus.models import StaleWindow
from diogen.connectors.base import SilverRow
from diogen.db import upsert
from diogen.ids import stable_id
from diogen.silver.base import table_of

TABLE = table_of(StaleWindow)
TIME_COLUMNS = {
    "git_commit": ("committed_at",),
    "deployment": ("finished_at", "started_at"),
    "pull_request": ("merged_at", "created_at"),
    "incident": ("started_at",),
}
Window = tuple[str, datetime]


def of_rows(rows: Iterable[SilverRow]) -> set[Window]:
    found: set[Window] = set()
    for row in rows:
        columns = TIME_COLUMNS.get(row.table.name)
        if columns is None:
            continue
        values = row.values
        repository = values.get("repository_id")
        when = next(filter(None, map(values.get, columns)), None)
        if repository and isinstance(when, datetime):
            day = when.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            found.add((repository, day))
    return found


def mark(session: Session, windows: set[Window], now: datetime) -> None:
    rows = [
        {
            "id": stable_id("gold", "stale_window", repository, day.date().isoformat()),
            "repository_id": repository,
            "day": day,
            "marked_at": now,
        }
        for repository, day in sorted(windows)
    ]
    upsert(session, TABLE, rows, update=("marked_at",))

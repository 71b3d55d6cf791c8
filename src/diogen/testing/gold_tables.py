"""Every gold row of a database and the reports it serves, to compare the gold a disturbed
pipeline left with the gold of an undisturbed run.

What is compared, after pending gold is refreshed (committed) on each side:

- every row of `gold_pull_request_commit`, `gold_change` and `gold_deployment_author`, in
  primary key order, all columns. None is ignored: these tables hold no refresh timestamp and
  no generated id; every column is derived from silver, whose ids are stable (`diogen.ids`).
- the DORA reports of the whole organisation (`gold_check.reports`: as a whole and by month,
  with their explanations), which read gold once every repository is fresh.

Not compared: `gold_change_log`, whose autoincrement id counts every write ever logged (it
differs with how many batches wrote a key, and is empty after the refresh anyway), and
`stale_window`, whose rows are the processors' marks rather than gold (`marked_at` is the
clock of the marking run; see `stale_days` for its stable part). `pending` (how many log rows
the writers left behind) is kept beside the rows but out of the equality: a repository left
stale is served from silver, so it is slower, never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from diogen.bus.models import StaleWindow
from diogen.db import session_scope
from diogen.metrics.gold import refresh_gold
from diogen.silver.base import table_of
from diogen.silver.gold import (
    GoldChange,
    GoldChangeLog,
    GoldDeploymentAuthor,
    GoldPullRequestCommit,
)
from diogen.testing.gold_check import reports
from diogen.testing.silver_rows import Snapshot

GOLD_MODELS = (GoldPullRequestCommit, GoldChange, GoldDeploymentAuthor)


@dataclass(frozen=True)
class Gold:
    tables: Snapshot
    reports: list[dict[str, Any]]
    # Log rows waiting when the snapshot was taken (before its refresh): not part of equality.
    pending: int = field(compare=False)


def pending_gold(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(GoldChangeLog)) or 0)


def gold_snapshot(engine: Engine) -> Gold:
    """Refresh what the change log holds (and commit), then read every gold row in primary key
    order and the reports gold serves."""
    with session_scope(engine) as session:
        pending = pending_gold(session)
        refresh_gold(session)
    with session_scope(engine) as session:
        left = pending_gold(session)
        assert left == 0, f"{left} gold log rows remain after a refresh"
        tables: Snapshot = {}
        for model in GOLD_MODELS:
            table = table_of(model)
            order = list(table.primary_key.columns)
            tables[table.name] = [tuple(r) for r in session.execute(select(table).order_by(*order))]
        served = reports(session)
    return Gold(tables, served, pending)


def stale_days(engine: Engine) -> set[tuple[str, datetime]]:
    """The (repository, day) windows the processors marked stale, without when they marked
    them."""
    with session_scope(engine) as session:
        return {
            (repository, day)
            for repository, day in session.execute(
                select(StaleWindow.repository_id, StaleWindow.day)
            )
        }

"""What gold notes on each `gold_change` row from the change's other rows, in order.

A change's rows (one per successful deployment shipping it) are read together, oldest
deployment first (ties: the smaller deployment id, as reports break them), and each row gets:

- `earlier_environments`: where the change shipped strictly before this deployment finished;
- for the default rules (`config.PRODUCTION_ENVIRONMENT_PATTERN`, `config.HOTFIX_PATTERN`):
  `production_first`, true on the change's first production deployment only; on that row the
  lead time and, for a pull request, its stages (`pulls.stage_cuts`) in whole microseconds;
  and `hotfix` on a pull request the hotfix rule marks.

A report with the default rules then counts a change by its first row alone (`gold_lead_times`).
Only rows whose values differ are written, so a refresh writes what it changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.orm import Session

from diogen.config import HOTFIX_PATTERN, PRODUCTION_ENVIRONMENT_PATTERN
from diogen.metrics.pull_facts import marked_hotfix, stage_cuts
from diogen.metrics.scope import environment_pattern
from diogen.silver.base import table_of
from diogen.silver.gold import PULL_REQUEST, GoldChange

MICROSECOND = timedelta(microseconds=1)
NOTED = (
    "earlier_environments",
    "production_first",
    "lead_time_us",
    "coding_us",
    "pickup_us",
    "review_us",
    "deploy_us",
    "hotfix",
)
_READ = (
    GoldChange.change_id,
    GoldChange.deployment_id,
    GoldChange.kind,
    GoldChange.environment,
    GoldChange.deployed_at,
    GoldChange.first_commit_at,
    GoldChange.author_at,
    GoldChange.ready_for_review_at,
    GoldChange.first_review_at,
    GoldChange.merged_at,
    GoldChange.head_ref,
    GoldChange.labels,
    *(getattr(GoldChange, name) for name in NOTED),
)


_TABLE = table_of(GoldChange)
_UPDATE = (
    update(_TABLE)
    .where(
        _TABLE.c.deployment_id == bindparam("key_deployment_id"),
        _TABLE.c.change_id == bindparam("key_change_id"),
    )
    .values({name: bindparam(name) for name in NOTED})
)


def note_shipments(session: Session, rows: ColumnElement[bool]) -> None:
    """Note on the `rows` of `gold_change`, every row of each of their changes among them, what
    the change's other rows tell (see the module)."""
    production = environment_pattern(PRODUCTION_ENVIRONMENT_PATTERN)
    hotfix = re.compile(HOTFIX_PATTERN)
    query = (
        select(*_READ)
        .where(rows)
        .order_by(GoldChange.change_id, GoldChange.deployed_at, GoldChange.deployment_id)
    )
    updates: list[dict[str, Any]] = []
    for _, shipments in groupby(session.execute(query), key=itemgetter(0)):
        updates += _changed(list(shipments), production, hotfix)
    if updates:
        # Core, not the ORM's bulk update: nothing of the session to bring up to date.
        session.connection().execute(_UPDATE, updates)


def _changed(
    ordered: Sequence[Any], production: re.Pattern[str], hotfix: re.Pattern[str]
) -> list[dict[str, Any]]:
    """The updates of one change's rows, ordered by deployment."""
    updates = []
    before: set[str] = set()
    passed = 0
    first_seen = False
    for row in ordered:
        while ordered[passed].deployed_at < row.deployed_at:
            before.add(ordered[passed].environment)
            passed += 1
        first = not first_seen and production.search(row.environment) is not None
        first_seen = first_seen or first
        noted = {
            "earlier_environments": sorted(before) or None,
            "production_first": first,
            **_lead_time(row, first),
            "hotfix": row.kind == PULL_REQUEST and marked_hotfix(hotfix, row.head_ref, row.labels),
        }
        if tuple(noted.values()) != tuple(getattr(row, name) for name in NOTED):
            key = {"key_deployment_id": row.deployment_id, "key_change_id": row.change_id}
            updates.append(key | noted)
    return updates


def _lead_time(row: Any, first: bool) -> dict[str, int | None]:
    """Lead time and stages in microseconds, on a first production row whose first commit is
    known; stages only when the change did not reach production before its first commit."""
    noted: dict[str, int | None] = dict.fromkeys(NOTED[2:7])
    if not first or row.first_commit_at is None:
        return noted
    deployed: datetime = row.deployed_at
    noted["lead_time_us"] = _micro(row.first_commit_at, deployed)
    if row.kind != PULL_REQUEST or row.first_commit_at > deployed:
        return noted
    ready = row.ready_for_review_at or row.author_at
    cuts = stage_cuts(row.first_commit_at, ready, row.first_review_at, row.merged_at, deployed)
    noted["coding_us"] = _micro(cuts[0], cuts[1])
    noted["pickup_us"] = None if row.first_review_at is None else _micro(cuts[1], cuts[2])
    noted["review_us"] = _micro(cuts[2], cuts[3])
    noted["deploy_us"] = _micro(cuts[3], cuts[4])
    return noted


def _micro(start: datetime, end: datetime) -> int:
    return (end - start) // MICROSECOND

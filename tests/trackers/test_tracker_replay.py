"""`diogen replay` rebuilds tracker silver from bronze alone: the Linear and Asana golden
syncs, their silver emptied, replayed to the same rows; a webhook delivery kept in bronze is
not read again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from tracker_support import Sync

from diogen.config import load_settings
from diogen.ingest.replay import replay
from diogen.ingest.tracker_webhooks import receive_linear
from diogen.silver import Issue as IssueRow
from diogen.silver import IssueStatusTransition, SprintScopeChange, WorkLink

TABLES = (WorkLink, SprintScopeChange, IssueStatusTransition)


def snapshot(engine: Engine) -> dict[str, set[tuple[Any, ...]]]:
    with Session(engine) as session:
        return {
            "issues": {
                (i.key, i.status, i.status_category, i.story_points, i.sprint_id, i.resolved_at)
                for i in session.scalars(select(IssueRow))
            },
            "moves": {
                (t.issue_id, t.to_status, t.changed_at)
                for t in session.scalars(select(IssueStatusTransition))
            },
            "scope": {
                (c.sprint_id, c.issue_id, c.change, c.story_points, c.changed_at)
                for c in session.scalars(select(SprintScopeChange))
            },
        }


def emptied_then_replayed(engine: Engine, tmp_path: Path) -> list[str]:
    with Session(engine) as session:
        for table in TABLES:
            session.execute(delete(table))
        session.execute(delete(IssueRow))
        session.commit()
    settings = load_settings(None, database_url=str(engine.url), cache_dir=tmp_path)
    result = replay(engine, settings)
    assert result.outcome.dead == 0 and result.records > 0
    return result.sources


def test_linear_and_asana_silver_rebuilt_from_bronze(
    engine: Engine, linear_sync: Sync, asana_sync: Sync, tmp_path: Path, shared_data: Path
) -> None:
    sources = sorted(sync().source for sync in (linear_sync, asana_sync))
    before = snapshot(engine)
    assert all(before.values())
    # A delivery for the same workspace: normalised now, kept in bronze, not replayed.
    body = (shared_data / "zulip-webhook-fixtures/linear/issue_update.json").read_bytes()
    assert receive_linear(engine, {}, body, None).status == "processed"
    assert emptied_then_replayed(engine, tmp_path) == sources
    assert snapshot(engine) == before

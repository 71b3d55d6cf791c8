"""A Jira source rebuilt from bronze alone: the golden story synced (twice, the second time
with a new issue), silver wiped, replayed; every silver row comes back, parent links too."""

from __future__ import annotations

from jira_cases import utc
from sqlalchemy import Engine, func, select
from tracker_support import Sync

from diogen.config import Settings
from diogen.db import session_scope
from diogen.ingest.replay import replay
from diogen.silver import Issue
from diogen.testing.fake_jira import FakeJira
from diogen.testing.silver_rows import snapshot, wipe_silver


def test_replay_rebuilds_jira_silver_exactly(engine: Engine, sync: Sync, jira: FakeJira) -> None:
    sync(incidents={"types": ["Incident"], "labels": ["outage"]})
    jira.add_issue("DIO-9", utc("2024-01-24T10:00"), points=2, sprints=(102,), assignee="bob")
    sync(incidents={"types": ["Incident"], "labels": ["outage"]})
    expected = snapshot(engine)
    requests = len(jira.log)
    assert expected["issue"] and expected["sprint"] and expected["issue_status_transition"]
    with session_scope(engine) as session:
        linked = session.scalar(select(func.count()).where(Issue.parent_id.is_not(None)))
    assert linked  # the epic link the golden story sets
    wipe_silver(engine)

    result = replay(engine, Settings())

    assert result.outcome.dead == 0 and result.outcome.rejected == 0
    assert snapshot(engine) == expected
    assert len(jira.log) == requests

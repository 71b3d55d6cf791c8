"""A Linear sync against a misbehaving fake: rate limits (Retry-After, and Linear's reset
header), server errors, timeouts, a bad key, an unknown team, a killed sync, incremental
re-syncs. On SQLite only: what is tested here is the connector, not the storage."""

from __future__ import annotations

import pytest
from linear_cases import utc
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_jira_resilience import FAST, KillAfter
from test_linear_sync import scope_rows
from tracker_support import Sleeper, Sync

from diogen.connectors.http import HttpError
from diogen.errors import NotFoundError, SourceError
from diogen.ingest.models import SyncCursor
from diogen.ingest.runner import CONFIG_CURSOR
from diogen.silver import Issue, IssueStatusTransition
from diogen.testing.fake_linear import FakeLinear

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SCOPE_ROWS = 13


def scope_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(scope_rows(session))


def test_waits_as_told_and_retries_server_errors_and_timeouts(
    engine: Engine, linear_sync: Sync, linear: FakeLinear
) -> None:
    linear.fail("Issues", 429, retry_after=7)
    # No Retry-After: until X-RateLimit-Requests-Reset (1 h ahead); Linear may also refuse
    # with a 400 whose GraphQL error says RATELIMITED.
    linear.fail("Cycles", 429)
    linear.fail("Projects", 400)
    linear.fail("Team", 502, times=2)
    linear.fail("Projects", 0, delay=0.5)  # slower than the client waits
    sleeper = Sleeper()
    result = linear_sync(sleep=sleeper, retry=FAST, timeout=0.2)
    assert result.rejected == 0
    assert any(7 <= wait < 8 for wait in sleeper.waits)  # Retry-After plus jitter below 1 s
    assert sum(3595 < wait < 3603 for wait in sleeper.waits) == 2
    assert result.summary["rate_limit_waits"] == 3
    assert result.summary["retries"] == 3  # two 502s and one timeout
    assert 0 < result.summary["rate_limit_remaining"] < 1500
    assert scope_count(engine) == SCOPE_ROWS


def test_persistent_errors_fail_the_run_and_the_next_one_completes(
    engine: Engine, linear_sync: Sync, linear: FakeLinear
) -> None:
    linear.fail("IssueHistory", 0)  # the first issue's history pages come through
    linear.fail("IssueHistory", 500, times=3)
    with pytest.raises(SourceError, match="failed after 3 attempts: HTTP 500"):
        linear_sync(retry=FAST)
    assert linear_sync(retry=FAST).rejected == 0
    assert scope_count(engine) == SCOPE_ROWS


def test_bad_key_and_unknown_team_say_so(
    engine: Engine, linear_sync: Sync, linear: FakeLinear
) -> None:
    with pytest.raises(HttpError, match="answered 400: Authentication required"):
        linear_sync(api_key="lin_api_wrong")
    with pytest.raises(NotFoundError, match="no Linear team 'NOPE'"):
        linear_sync(teams=["NOPE"])


def test_pages_every_connection(engine: Engine, linear_sync: Sync, linear: FakeLinear) -> None:
    """Pages of 2 (the fake's cap): 3 of issues; ENG-5's 7 history entries take 3 more."""
    linear_sync()
    issue_pages = linear.operations("Issues")
    assert [bool(v["after"]) for v in issue_pages] == [False, True, True]
    histories = linear.operations("IssueHistory")
    eng5 = next(i for i in linear.issues if i.identifier == "ENG-5").fields["id"]
    assert sum(v["issue"] == eng5 for v in histories) == 3


def test_a_killed_sync_resumes_after_its_last_page(
    engine: Engine, linear_sync: Sync, linear: FakeLinear
) -> None:
    # Organization, team, cycles, projects; issue page 1 (ENG-2, ENG-5: newest first) with
    # 1 + 3 more history pages; page 2 (ENG-6, ENG-3) with 1: die asking for page 3. The
    # pages read before are all kept, and the next run starts at page 3.
    with pytest.raises(SystemExit):
        linear_sync(transport=KillAfter(11))
    with Session(engine) as session:
        kept = set(session.scalars(select(Issue.key)))
        assert kept == {"ENG-2", "ENG-5", "ENG-6", "ENG-3"}
        # The sync's stored configuration (`_config`, for replay) sits beside the cursor.
        cursors = select(SyncCursor).where(SyncCursor.stream != CONFIG_CURSOR)
        (cursor,) = session.scalars(cursors).all()
        assert cursor.value["after"] and cursor.value["since"] is None
    before = len(linear.operations("Issues"))
    assert linear_sync().rejected == 0
    resumed = linear.operations("Issues")[before:]
    assert [page["after"] for page in resumed] == [cursor.value["after"]]
    assert scope_count(engine) == SCOPE_ROWS


def test_a_resync_reads_only_what_changed_since(
    engine: Engine, linear_sync: Sync, linear: FakeLinear
) -> None:
    linear_sync()
    newest = "2024-03-20T12:00:00.000Z"  # ENG-2's last update
    four = next(i for i in linear.issues if i.identifier == "ENG-4")
    four.move(utc("2024-03-21T09:00"), "In Progress")
    second = linear_sync()
    sent = linear.operations("Issues")[-1]
    assert sent["filter"]["updatedAt"] == {"gte": newest}
    assert second.summary["issues"] == 2  # ENG-2 again (inclusive), ENG-4
    with Session(engine) as session:
        moved = session.scalars(
            select(IssueStatusTransition.to_status)
            .join(Issue, Issue.id == IssueStatusTransition.issue_id)
            .where(Issue.key == "ENG-4")
        ).all()
        assert moved == ["In Progress"]
    assert scope_count(engine) == SCOPE_ROWS

"""A Jira sync against a misbehaving fake: rate limits, server errors, timeouts, bad
credentials, unknown projects, a missing bulk changelog, a malformed issue, a killed sync.
On SQLite only: what is tested here is the connector, not the storage."""

from __future__ import annotations

import httpx
import pytest
from jira_cases import utc
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_jira_sync import scope_rows
from tracker_support import Sleeper, Sync

from diogen.connectors.http import HttpError, RetryPolicy
from diogen.errors import NotFoundError, SourceError
from diogen.ingest.models import QuarantinedRecord, SyncRun
from diogen.testing.fake_jira import FakeJira

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
LIMIT_SERVER = 13
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.01)


class KillAfter(httpx.BaseTransport):
    """A transport that dies (as a killed process would) after `limit` requests."""

    def __init__(self, limit: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.limit = limit
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.sent > self.limit:
            raise SystemExit(f"killed after {self.limit} requests")
        return self.inner.handle_request(request)


def full_scope(engine: Engine) -> set[tuple[object, ...]]:
    with Session(engine) as session:
        return set(scope_rows(session))


@pytest.mark.parametrize("flavor", ["cloud"], indirect=True)
def test_waits_as_told_by_retry_after_and_retries_server_errors(
    engine: Engine, sync: Sync, jira: FakeJira
) -> None:
    jira.fail(r"/search/jql$", 429, retry_after=7)
    jira.fail(r"/changelog/bulkfetch$", 503, times=2)
    jira.fail(r"/rest/api/3/status$", 0, delay=0.5)  # slower than the client waits
    sleeper = Sleeper()
    result = sync(sleep=sleeper, retry=FAST, timeout=0.2)
    assert result.rejected == 0
    assert any(7 <= wait < 8 for wait in sleeper.waits)  # Retry-After plus jitter below 1 s
    assert result.summary["rate_limit_waits"] == 1
    assert result.summary["retries"] == 3  # two 503s and one timeout
    assert len(full_scope(engine)) == 9


@pytest.mark.parametrize("flavor", ["cloud"], indirect=True)
def test_persistent_errors_fail_the_run_and_keep_what_was_committed(
    engine: Engine, sync: Sync, jira: FakeJira
) -> None:
    jira.fail(r"/changelog/bulkfetch$", 0)  # the first page's changelogs come through
    jira.fail(r"/changelog/bulkfetch$", 500, times=3)
    with pytest.raises(SourceError, match="failed after 3 attempts: HTTP 500"):
        sync(retry=FAST)
    with Session(engine) as session:
        run = session.scalars(select(SyncRun)).one()
        assert (run.status, run.error is not None) == ("failed", True)
    assert sync(retry=FAST).rejected == 0
    assert len(full_scope(engine)) == 9


def test_bad_credentials_and_unknown_names_say_so(
    engine: Engine, sync: Sync, jira: FakeJira
) -> None:
    with pytest.raises(HttpError, match="answered 401") as error:
        sync(token="wrong")
    assert error.value.status == 401
    with pytest.raises(NotFoundError, match="no Jira project 'NOPE'"):
        sync(projects=["NOPE"])
    with pytest.raises(NotFoundError, match="no Jira board 999"):
        sync(projects=[], boards=[999])


@pytest.mark.parametrize("flavor", ["cloud"], indirect=True)
def test_reads_changelogs_one_by_one_without_the_bulk_endpoint(
    engine: Engine, sync: Sync, jira: FakeJira
) -> None:
    jira.bulk_changelog = False
    assert sync().rejected == 0
    assert len(jira.requests(r"/rest/api/3/issue/\d+/changelog")) >= 8
    assert len(full_scope(engine)) == 9


def test_a_board_syncs_its_issues(engine: Engine, sync: Sync, jira: FakeJira) -> None:
    result = sync(projects=[], boards=[7])
    assert (result.summary["issues"], result.summary["sprints"]) == (8, 2)
    assert len(full_scope(engine)) == 9
    assert jira.requests(r"/rest/agile/1.0/board/7/issue")


def test_a_malformed_issue_is_quarantined_and_the_rest_synced(
    engine: Engine, sync: Sync, jira: FakeJira
) -> None:
    broken = jira.add_issue("DIO-10", utc("2024-01-25T10:00"))
    del broken.fields["created"]
    result = sync()
    assert (result.records - result.rejected, result.rejected) == (result.records - 1, 1)
    with Session(engine) as session:
        (kept,) = session.scalars(select(QuarantinedRecord)).all()
        assert (kept.stream, kept.error) == (
            "issues",
            "RejectedRecord: Jira issue DIO-10 has no creation time",
        )
    assert len(full_scope(engine)) == 9


def test_a_killed_sync_resumes_where_it_stopped(
    engine: Engine, sync: Sync, jira: FakeJira, flavor: str
) -> None:
    # Requests read the site, project, fields, boards and sprints; then pages of issues (with
    # their changelogs on Cloud). Die half-way through those (the counts are the fake's).
    with pytest.raises(SystemExit):
        sync(transport=KillAfter(13 if flavor == "cloud" else 10))
    with Session(engine) as session:
        assert 0 < len(scope_rows(session)) < 9
    assert sync().rejected == 0
    assert len(full_scope(engine)) == 9

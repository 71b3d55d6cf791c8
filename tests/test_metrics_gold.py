"""Gold (`diogen.metrics.gold`): the stored matching equals silver's, triggers mark every kind
of write, and a report reading gold equals the report computed from silver alone, fresh,
stale or mixed. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session
from test_metrics_support import Silver, engine_for

from diogen.db import make_engine, upsert
from diogen.metrics import Scope, Window, dora_report
from diogen.metrics.gold import freshness, refresh_gold
from diogen.metrics.matching import pull_request_commits
from diogen.pgupsert import COPY_MIN_ROWS
from diogen.silver import (
    Commit,
    PullRequestCommit,
    Repository,
)
from diogen.silver.base import table_of
from diogen.silver.gold import GoldPullRequestCommit, GoldVersion, SilverVersion
from diogen.testing.synthetic_org import END, append_events, generate_organization

LAST_90_DAYS = Window(END + timedelta(days=1) - timedelta(days=90), END + timedelta(days=1))
YEAR = Window(END - timedelta(weeks=52), END)


def versions(session: Session) -> dict[str, int]:
    return dict(session.execute(select(SilverVersion.repository_id, SilverVersion.version)).all())


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = engine_for(database_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_every_write_of_a_matching_input_bumps_its_repository(session: Session) -> None:
    silver = Silver(session)
    api, web = silver.repo("api"), silver.repo("web")
    before = versions(session)
    commit_id = silver.commit(api, "aaaa1111", "2024-01-02T00:00")
    assert versions(session)[api] > before.get(api, 0) and web not in versions(session)

    pr = silver.pull_request(web, 1, created="2024-01-01T00:00", merged=None, shas=["bbbb2222"])
    after_pr = versions(session)
    assert after_pr[web] >= 2  # the pull request and its listed commit
    session.execute(update(Commit).where(Commit.id == commit_id).values(subject="reworded"))
    reworded = versions(session)
    assert reworded[api] > after_pr[api] and reworded[web] == after_pr[web]
    # Columns the matching does not read, or the same values again, leave gold fresh.
    session.execute(update(Commit).where(Commit.id == commit_id).values(reachable=False))
    session.execute(update(Commit).where(Commit.id == commit_id).values(subject="reworded"))
    assert versions(session) == reworded
    session.execute(delete(PullRequestCommit).where(PullRequestCommit.pull_request_id == pr))
    assert versions(session)[web] > reworded[web]


def test_upserts_bump_only_when_a_watched_column_changes(session: Session) -> None:
    """The sync runner and the processors write with INSERT .. ON CONFLICT DO UPDATE (on
    PostgreSQL from COPY_MIN_ROWS rows on, through COPY into a staging table)."""
    silver = Silver(session)
    api = silver.repo("api")
    stored = session.get(Commit, silver.commit(api, "aaaa1111", "2024-01-02T00:00"))
    row = {column.name: getattr(stored, column.key) for column in table_of(Commit).columns}
    start = versions(session)[api]
    upsert(session, table_of(Commit), [row])
    assert versions(session)[api] == start, "the same values again change nothing"
    upsert(session, table_of(Commit), [{**row, "subject": "changed"}])
    assert versions(session)[api] > start
    start = versions(session)[api]
    many = [{**row, "id": f"{k:032x}", "sha": f"{k:040x}"} for k in range(1, COPY_MIN_ROWS + 1)]
    upsert(session, table_of(Commit), many)
    assert versions(session)[api] > start
    start = versions(session)[api]
    upsert(session, table_of(Commit), [{**r, "subject": "bulk"} for r in many])
    assert versions(session)[api] > start


@pytest.fixture
def org(database_url: str) -> Iterator[Engine]:
    """A small synthetic organisation (COPY on PostgreSQL), gold never built."""
    engine = make_engine(database_url)
    generate_organization(engine, 0.005, seed=3)
    yield engine
    engine.dispose()


def reports(session: Session) -> list[dict[str, Any]]:
    return [
        dora_report(session, Scope(), LAST_90_DAYS, explain=True),
        dora_report(session, Scope(), YEAR, bucket="week", explain=True),
        dora_report(session, Scope(team="payments"), YEAR, bucket="week", explain=True),
    ]


def silver_reports(session: Session) -> list[dict[str, Any]]:
    """The reports with every repository marked stale: silver's matching everywhere."""
    kept = session.execute(select(GoldVersion.repository_id, GoldVersion.version)).all()
    session.execute(delete(GoldVersion))
    try:
        return reports(session)
    finally:
        for repository_id, version in kept:
            session.add(GoldVersion(repository_id=repository_id, version=version))
        session.flush()


def test_gold_rows_are_silvers_matching_and_reports_agree(org: Engine) -> None:
    with Session(org) as session:
        repositories = set(session.scalars(select(Repository.id)))
        assert freshness(session).stale == repositories  # nothing built yet
        expected = reports(session)

        done = refresh_gold(session)
        assert done["gold_repositories_refreshed"] == len(repositories) and done["gold_rows"]
        assert freshness(session).fresh == repositories
        pairs = select(GoldPullRequestCommit.pull_request_id, GoldPullRequestCommit.commit_id)
        stored = {(pr, commit) for pr, commit in session.execute(pairs)}
        computed = session.execute(pull_request_commits())
        assert stored == {(pr, commit) for pr, commit in computed}
        assert reports(session) == expected
        # Nothing stale, nothing to do.
        assert refresh_gold(session)["gold_repositories_refreshed"] == 0


def test_half_fresh_half_stale_gives_the_same_reports(org: Engine) -> None:
    with Session(org) as session:
        refresh_gold(session)
        expected = silver_reports(session)
        half = sorted(session.scalars(select(Repository.id)))[::2]
        session.execute(delete(GoldVersion).where(GoldVersion.repository_id.in_(half)))
        assert freshness(session).stale == set(half)
        assert reports(session) == expected


def test_writes_after_a_refresh_are_never_hidden_by_gold(org: Engine) -> None:
    with Session(org) as session:
        refresh_gold(session)
        session.commit()
        # New commits and deployments; then a listed commit removed from every pull request.
        append_events(session, END + timedelta(hours=1), 10)  # one repository
        touched = freshness(session).stale
        assert touched and touched < set(session.scalars(select(Repository.id)))
        listed = session.scalars(select(PullRequestCommit.id).limit(50)).all()
        session.execute(delete(PullRequestCommit).where(PullRequestCommit.id.in_(listed)))
        stale = freshness(session).stale
        expected = silver_reports(session)
        assert reports(session) == expected

        done = refresh_gold(session)
        assert done["gold_repositories_refreshed"] == len(stale)
        assert not freshness(session).stale
        assert reports(session) == expected


def test_the_versions_are_what_keeps_reports_right(org: Engine) -> None:
    """Control: gold rows forged fresh after a silver change do give other numbers, so the
    agreement above is the versions' doing, not an accident of the data."""
    with Session(org) as session:
        refresh_gold(session)
        merged = session.scalars(select(GoldPullRequestCommit.pull_request_id)).all()
        session.execute(
            delete(GoldPullRequestCommit).where(GoldPullRequestCommit.pull_request_id.in_(merged))
        )
        right = silver_reports(session)
        assert reports(session) != right
        session.execute(update(GoldVersion).values(version=-1))
        assert reports(session) == right


def test_a_refresh_in_another_transaction_waits_for_nothing_and_misses_nothing(
    org: Engine,
) -> None:
    """A writer's uncommitted rows are not in another session's refresh, and that session's
    gold version is the one it read, so the writer's commit leaves the repository stale."""
    with Session(org) as writer, Session(org) as refresher:
        refresh_gold(refresher)
        refresher.commit()
        append_events(writer, END + timedelta(hours=1), 10)
        bumped = freshness(writer).stale
        refresh_gold(refresher)  # sees nothing stale yet
        refresher.commit()
        writer.commit()
        assert freshness(refresher).stale == bumped

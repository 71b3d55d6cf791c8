"""Gold (`diogen.metrics.gold`): triggers log every write gold reads, a refresh from the log
gives the rows a whole rebuild gives, and a report reading gold equals the report computed
from silver alone, fresh, stale or mixed. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session
from test_metrics_support import Silver

from diogen.db import make_engine, upsert
from diogen.ids import stable_id
from diogen.metrics import Scope, Window, dora_report, gold_refresh
from diogen.metrics.gold import freshness, log_new_whole, mark_stale, refresh_gold
from diogen.metrics.matching import pull_request_commits
from diogen.pgupsert import COPY_MIN_ROWS
from diogen.silver import (
    Commit,
    Deployment,
    DeploymentCommit,
    Identity,
    Person,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
)
from diogen.silver.base import table_of
from diogen.silver.gold import (
    GoldChange,
    GoldChangeLog,
    GoldDeploymentAuthor,
    GoldPullRequestCommit,
)
from diogen.testing.synthetic_org import END, append_events, generate_organization

LAST_90_DAYS = Window(END + timedelta(days=1) - timedelta(days=90), END + timedelta(days=1))
YEAR = Window(END - timedelta(weeks=52), END)


def logged(session: Session) -> set[tuple[str, str, str]]:
    log = GoldChangeLog
    return set(session.execute(select(log.repository_id, log.kind, log.key)))


def test_every_write_gold_reads_is_logged(session: Session) -> None:
    silver = Silver(session)
    api, web = silver.repo("api"), silver.repo("web")
    commit_id = silver.commit(api, "aaaa1111", "2024-01-02T00:00")
    assert logged(session) == {(api, "commit", commit_id)}

    pr = silver.pull_request(web, 1, created="2024-01-01T00:00", merged=None, shas=["bbbb2222"])
    assert {row for row in logged(session) if row[0] == web} == {(web, "pull_request", pr)}
    deployment = silver.deploy(api, "v1", "2024-01-03T00:00", commits=[commit_id])
    assert (api, "deployment", deployment) in logged(session)

    session.execute(delete(GoldChangeLog))
    session.execute(update(Commit).where(Commit.id == commit_id).values(subject="reworded"))
    session.execute(update(PullRequest).where(PullRequest.id == pr).values(merged_at=END))
    session.execute(update(Deployment).values(status="failure"))
    assert logged(session) == {
        (api, "commit", commit_id),
        (web, "pull_request", pr),
        (api, "deployment", deployment),
    }
    session.execute(delete(GoldChangeLog))
    # Columns gold does not read, or the same values again, log nothing.
    session.execute(update(Commit).where(Commit.id == commit_id).values(reachable=False))
    session.execute(update(Commit).where(Commit.id == commit_id).values(subject="reworded"))
    session.execute(update(PullRequest).values(state="closed", title="renamed"))
    session.execute(update(Deployment).values(marked_failed=True))
    assert logged(session) == set()
    session.execute(delete(PullRequestCommit).where(PullRequestCommit.pull_request_id == pr))
    session.execute(delete(DeploymentCommit))
    assert logged(session) == {(web, "pull_request", pr), (api, "deployment", deployment)}


def test_reviews_and_who_wrote_them_log_their_pull_requests(session: Session) -> None:
    """A first review depends on the reviews and on whether reviewer and author are one
    person or bots (`metrics.reviews`)."""
    silver = Silver(session)
    web = silver.repo("web")
    author, reviewer, other = (silver.person(login) for login in ("ann", "bob", "cy"))
    pr = silver.pull_request(web, 1, created="2024-01-01T00:00", merged=None, author=author)
    silver.pull_request(web, 2, created="2024-01-01T00:00", merged=None, author=other)
    session.execute(delete(GoldChangeLog))
    silver.review(pr, reviewer, "2024-01-02T00:00")
    assert logged(session) == {(web, "pull_request", pr)}
    session.execute(delete(GoldChangeLog))
    reviewer_identity = session.get(Identity, reviewer)
    assert reviewer_identity is not None
    reviewer_identity.person_id = stable_id("test", "person", "ann")  # merged into the author
    session.flush()
    assert logged(session) == {(web, "pull_request", pr)}
    session.execute(delete(GoldChangeLog))
    session.execute(
        update(Person).where(Person.id == reviewer_identity.person_id).values(is_bot=True)
    )
    assert logged(session) == {(web, "pull_request", pr)}, "the author's and reviewer's person"
    session.execute(delete(GoldChangeLog))
    session.execute(update(Identity).values(name="renamed"))
    session.execute(update(Review).values(state="COMMENTED"))
    assert logged(session) == set()


def test_upserts_log_only_when_a_watched_column_changes(session: Session) -> None:
    """The sync runner and the processors write with INSERT .. ON CONFLICT DO UPDATE (on
    PostgreSQL from COPY_MIN_ROWS rows on, through COPY into a staging table)."""
    silver = Silver(session)
    api = silver.repo("api")
    stored = session.get(Commit, silver.commit(api, "aaaa1111", "2024-01-02T00:00"))
    row = {column.name: getattr(stored, column.key) for column in table_of(Commit).columns}
    session.execute(delete(GoldChangeLog))
    upsert(session, table_of(Commit), [row])
    assert logged(session) == set(), "the same values again change nothing"
    upsert(session, table_of(Commit), [{**row, "subject": "changed"}])
    assert logged(session) == {(api, "commit", row["id"])}
    many = [{**row, "id": f"{k:032x}", "sha": f"{k:040x}"} for k in range(1, COPY_MIN_ROWS + 1)]
    session.execute(delete(GoldChangeLog))
    upsert(session, table_of(Commit), many)
    assert logged(session) == {(api, "commit", r["id"]) for r in many}
    session.execute(delete(GoldChangeLog))
    upsert(session, table_of(Commit), many)
    assert logged(session) == set()
    upsert(session, table_of(Commit), [{**r, "subject": "bulk"} for r in many])
    assert len(logged(session)) == len(many)


def test_sqlite_logs_no_key_of_a_repository_logged_whole(session: Session) -> None:
    """It is rebuilt whole: SQLite's triggers skip its keys, whether the row is its own key or
    leads to one (a listed commit, a deployed commit), until a refresh claims the whole row.
    PostgreSQL's log them still: there a refresh could claim that row unseen by a writer."""
    silver = Silver(session)
    api, web = silver.repo("api"), silver.repo("web")
    session.execute(delete(GoldChangeLog))
    log_new_whole(session, [api, web])
    assert logged(session) == {(api, "repository", api), (web, "repository", web)}
    session.execute(delete(GoldChangeLog).where(GoldChangeLog.repository_id == web))
    commit_id = silver.commit(api, "aaaa1111", "2024-01-02T00:00")
    web_commit = silver.commit(web, "bbbb2222", "2024-01-02T00:00")
    pr = silver.pull_request(api, 1, created="2024-01-01T00:00", merged=None, shas=["aaaa1111"])
    deployment = silver.deploy(api, "v1", "2024-01-03T00:00", commits=[commit_id])
    session.execute(update(Commit).values(subject="reworded"))
    session.execute(delete(PullRequestCommit))
    keys = {(api, "commit", commit_id), (api, "pull_request", pr), (api, "deployment", deployment)}
    expected = {(api, "repository", api), (web, "commit", web_commit)}
    if session.get_bind().dialect.name == "postgresql":
        expected |= keys
    assert logged(session) == expected

    refresh_gold(session)
    assert gold_rows(session) == rebuilt_whole(session)
    log_new_whole(session, [api])
    assert logged(session) == set(), "it holds commits now"
    session.execute(update(Commit).values(subject="again"))
    assert logged(session) == {(api, "commit", commit_id), (web, "commit", web_commit)}


@pytest.fixture
def org(database_url: str) -> Iterator[Engine]:
    """A small synthetic organisation (COPY on PostgreSQL), gold never built."""
    engine = make_engine(database_url)
    generate_organization(engine, 0.005, seed=3)
    yield engine
    engine.dispose()


def reports(session: Session) -> list[dict[str, Any]]:
    repository = session.scalars(select(Repository.name).order_by(Repository.name)).first()
    return [
        dora_report(session, Scope(), LAST_90_DAYS, explain=True),
        dora_report(session, Scope(), YEAR, bucket="week", explain=True),
        dora_report(session, Scope(team="payments"), YEAR, bucket="week", explain=True),
        # Without the evidence and with gold fresh: gold's precomputed lead times.
        dora_report(session, Scope(), YEAR, bucket="month"),
        dora_report(session, Scope(team="payments"), YEAR, bucket="week"),
        dora_report(session, Scope(repo=repository), LAST_90_DAYS),
    ]


def silver_reports(session: Session) -> list[dict[str, Any]]:
    """The reports with every repository marked stale: silver everywhere."""
    savepoint = session.begin_nested()
    mark_stale(session)
    try:
        return reports(session)
    finally:
        savepoint.rollback()


GoldRows = dict[str, set[tuple[Any, ...]]]


def gold_rows(session: Session) -> GoldRows:
    """Every gold table's rows (lists as tuples, to be hashable)."""
    return {
        table.name: {
            tuple(tuple(value) if isinstance(value, list) else value for value in row)
            for row in session.execute(select(*table.columns))
        }
        for table in map(table_of, (GoldPullRequestCommit, GoldChange, GoldDeploymentAuthor))
    }


def rebuilt_whole(session: Session) -> GoldRows:
    """The gold rows a whole rebuild of every repository gives, the session left as it was."""
    savepoint = session.begin_nested()
    mark_stale(session)
    refresh_gold(session)
    try:
        return gold_rows(session)
    finally:
        savepoint.rollback()


def test_gold_rows_are_silvers_matching_and_reports_agree(org: Engine) -> None:
    with Session(org) as session:
        repositories = set(session.scalars(select(Repository.id)))
        assert freshness(session).stale == repositories  # the generation is logged
        expected = reports(session)

        done = refresh_gold(session)
        assert done["gold_repositories_refreshed"] == len(repositories)
        assert freshness(session).fresh == repositories
        assert session.scalar(select(func.count()).select_from(GoldChangeLog)) == 0
        rows = gold_rows(session)
        matching = {(pr, commit, repo) for pr, commit, repo in rows["gold_pull_request_commit"]}
        assert {pair[:2] for pair in matching} == set(session.execute(pull_request_commits()))
        assert rows["gold_change"] and rows["gold_deployment_author"]
        assert reports(session) == expected
        # Nothing logged, nothing to do.
        assert refresh_gold(session)["gold_repositories_refreshed"] == 0


def test_half_fresh_half_stale_gives_the_same_reports(org: Engine) -> None:
    with Session(org) as session:
        refresh_gold(session)
        expected = silver_reports(session)
        half = sorted(session.scalars(select(Repository.id)))[::2]
        mark_stale(session, half)
        assert freshness(session).stale == set(half)
        assert reports(session) == expected


def _commits_of_pull_requests(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(GoldPullRequestCommit.commit_id).order_by(GoldPullRequestCommit.commit_id)
        )
    )


def _make_a_rebased_copy(session: Session) -> None:
    """A deployed commit no pull request had takes a listed commit's author, time and subject:
    it becomes a rebased copy, so it joins that pull request."""
    listed = session.execute(
        select(Commit.repository_id, Commit.authored_at, Commit.author_email, Commit.subject)
        .join(PullRequestCommit, PullRequestCommit.sha == Commit.sha)
        .order_by(Commit.id)
        .limit(1)
    ).one()
    claimed = select(GoldPullRequestCommit.commit_id)
    lone = session.scalar(
        select(Commit.id)
        .join(DeploymentCommit, DeploymentCommit.commit_id == Commit.id)
        .where(Commit.repository_id == listed.repository_id, Commit.id.not_in(claimed))
        .order_by(Commit.id)
        .limit(1)
    )
    session.execute(
        update(Commit)
        .where(Commit.id == lone)
        .values(
            authored_at=listed.authored_at, author_email=listed.author_email, subject=listed.subject
        )
    )


def _drop_listed_commits(session: Session) -> None:
    listed = session.scalars(select(PullRequestCommit.id).order_by(PullRequestCommit.id).limit(9))
    session.execute(delete(PullRequestCommit).where(PullRequestCommit.id.in_(list(listed))))


def _claim_lone_commits(session: Session) -> None:
    """Commits no pull request had join one (listed) and another (as its merge commit)."""
    claimed = select(GoldPullRequestCommit.commit_id)
    lone = session.execute(
        select(Commit.sha, Commit.repository_id)
        .join(DeploymentCommit, DeploymentCommit.commit_id == Commit.id)
        .where(Commit.id.not_in(claimed))
        .order_by(Commit.id)
        .limit(2)
    ).all()
    (sha, repository_id), (merge_sha, other_repository) = lone
    pr = session.scalar(select(PullRequest.id).where(PullRequest.repository_id == repository_id))
    row_id = stable_id("test", "listed", pr, sha)
    session.add(PullRequestCommit(id=row_id, pull_request_id=pr, sha=sha))
    other = select(PullRequest.id).where(PullRequest.repository_id == other_repository)
    session.execute(
        update(PullRequest)
        .where(PullRequest.id == session.scalar(other.limit(1)))
        .values(merge_commit_sha=merge_sha)
    )
    session.flush()


def _fail_and_move_deployments(session: Session) -> None:
    production = select(Deployment.id).where(Deployment.environment == "production")
    first, second = session.scalars(production.order_by(Deployment.id).limit(2))
    session.execute(update(Deployment).where(Deployment.id == first).values(status="failure"))
    session.execute(update(Deployment).where(Deployment.id == second).values(environment="qa"))


def _unlink_a_deployment(session: Session) -> None:
    deployment = session.scalar(select(DeploymentCommit.deployment_id).limit(1))
    session.execute(delete(DeploymentCommit).where(DeploymentCommit.deployment_id == deployment))


def _rewrite_times(session: Session) -> None:
    commit = session.get(Commit, _commits_of_pull_requests(session)[-1])
    assert commit is not None
    commit.authored_at -= timedelta(days=3)
    pr = session.scalar(select(GoldPullRequestCommit.pull_request_id).limit(1))
    session.execute(update(PullRequest).where(PullRequest.id == pr).values(ready_for_review_at=END))


def _append(session: Session) -> None:
    append_events(session, END + timedelta(hours=1), 30)


def _reviewed_pull_request(session: Session) -> PullRequest:
    pr = session.scalar(
        select(PullRequest)
        .join(GoldChange, GoldChange.change_id == PullRequest.id)
        .where(GoldChange.first_review_at.is_not(None))
        .order_by(PullRequest.id)
        .limit(1)
    )
    assert pr is not None
    return pr


def _review_earlier(session: Session) -> None:
    """A review by another person, before the first one; then a hotfix branch."""
    pr = _reviewed_pull_request(session)
    reviewer = session.scalar(
        select(Identity.id).where(Identity.id != pr.author_identity_id).order_by(Identity.id)
    )
    session.add(
        Review(
            id=stable_id("test", "review", pr.id),
            pull_request_id=pr.id,
            reviewer_identity_id=reviewer,
            state="APPROVED",
            submitted_at=pr.created_at + timedelta(minutes=1),
            source="test",
            external_id=pr.id,
        )
    )
    pr.head_ref = "hotfix/now"


def _reviewers_become_the_author(session: Session) -> None:
    """Identity merges and a bot flag change who counts as a first reviewer."""
    pr = _reviewed_pull_request(session)
    author = session.get(Identity, pr.author_identity_id)
    assert author is not None
    reviewers = session.scalars(
        select(Identity)
        .join(Review, Review.reviewer_identity_id == Identity.id)
        .where(Review.pull_request_id == pr.id)
    ).all()
    for reviewer in reviewers[:1]:
        reviewer.person_id = author.person_id
    for reviewer in reviewers[1:]:
        person = session.get(Person, reviewer.person_id)
        assert person is not None
        person.is_bot = True


MUTATIONS: list[Callable[[Session], None]] = [
    _append,
    _make_a_rebased_copy,
    _drop_listed_commits,
    _claim_lone_commits,
    _fail_and_move_deployments,
    _unlink_a_deployment,
    _rewrite_times,
    _review_earlier,
    _reviewers_become_the_author,
]


def test_a_refresh_from_the_log_equals_a_whole_rebuild(org: Engine) -> None:
    """Each kind of write alone (undone before the next): the refresh looks up the logged keys
    only, and gives the rows a whole rebuild gives."""
    with Session(org) as session:
        refresh_gold(session)
        before = gold_rows(session)
        for mutation in MUTATIONS:
            savepoint = session.begin_nested()
            mutation(session)
            session.flush()
            assert logged(session), mutation.__name__
            done = refresh_gold(session)
            assert done["gold_rebuilt_whole"] == 0, mutation.__name__
            assert not freshness(session).stale
            after = gold_rows(session)
            assert after == rebuilt_whole(session), mutation.__name__
            assert after != before, f"{mutation.__name__} changed gold"
            savepoint.rollback()


def test_one_refresh_after_every_kind_of_write(org: Engine) -> None:
    with Session(org) as session:
        refresh_gold(session)
        for mutation in MUTATIONS:
            mutation(session)
        session.flush()
        refresh_gold(session)
        assert gold_rows(session) == rebuilt_whole(session)
        assert reports(session) == silver_reports(session)


def test_a_commit_that_is_gone_rebuilds_its_repository(org: Engine) -> None:
    """Its gold rows went with it (cascade), and with them which pull requests it was in."""
    with Session(org) as session:
        refresh_gold(session)
        commit_id = _commits_of_pull_requests(session)[0]
        session.execute(delete(Commit).where(Commit.id == commit_id))
        assert refresh_gold(session)["gold_rebuilt_whole"] == 1
        assert gold_rows(session) == rebuilt_whole(session)


def test_the_log_is_what_keeps_reports_right(org: Engine) -> None:
    """Control: gold rows removed behind the log's back do give other numbers, so the
    agreement above is the log's doing, not an accident of the data."""
    with Session(org) as session:
        refresh_gold(session)
        right = silver_reports(session)
        session.execute(delete(GoldChange))
        assert reports(session) != right
        mark_stale(session)
        assert reports(session) == right


def test_a_refresh_in_another_transaction_waits_for_nothing_and_misses_nothing(
    org: Engine,
) -> None:
    """A writer's uncommitted log rows are not another session's to claim: the writer's
    commit leaves its repositories stale until it, or anyone, refreshes."""
    with Session(org) as writer, Session(org) as refresher:
        refresh_gold(refresher)
        refresher.commit()
        append_events(writer, END + timedelta(hours=1), 10)
        touched = freshness(writer).stale
        assert touched
        assert refresh_gold(refresher)["gold_repositories_refreshed"] == 0
        refresher.commit()
        writer.commit()
        assert freshness(refresher).stale == touched
        refresh_gold(refresher)
        assert not freshness(refresher).stale
        assert reports(refresher) == silver_reports(refresher)


def test_a_first_build_describes_the_matching_to_postgresql(
    org: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole rebuild of many repositories analyses the matching it wrote, in its own
    transaction (its plans walked the whole table per pull request otherwise), and builds
    the same rows."""
    monkeypatch.setattr(gold_refresh, "LARGE_REBUILD", 1)  # as many as this org has
    with Session(org) as session:
        expected = rebuilt_whole(session)
        assert len(freshness(session).stale) >= gold_refresh.LARGE_REBUILD
        assert refresh_gold(session)["gold_rebuilt_whole"] >= gold_refresh.LARGE_REBUILD
        if org.dialect.name == "postgresql":
            rows = text(
                "SELECT reltuples FROM pg_class WHERE oid = 'gold_pull_request_commit'::regclass"
            )
            assert session.scalar(rows) > 0  # -1 before: never analysed
        assert gold_rows(session) == expected
        assert reports(session) == silver_reports(session)

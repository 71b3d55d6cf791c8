"""Gold: the commit ↔ pull request matching materialised per repository, and its refresh.

The matching (`matching.pull_request_commits`) is the report's most expensive read: every
call matched the window's deployed commits to pull requests through listed commits, merge
commits and rebased copies. `refresh_gold` stores its answer per repository in
`gold_pull_request_commit`, and reports read those rows by index instead.

Freshness does not depend on writers remembering anything: database triggers bump a
repository's `silver_version` on every write of a row the matching reads (silver.gold), and
`gold_version` records the version each repository's rows were computed from. `matching`
takes gold rows only for repositories whose versions are equal and computes the others'
from silver in the same statement, so a report is never older than silver, whether or not
anyone refreshed; refreshing only makes it fast again. Writers call `refresh_gold` at their
edge, before they commit (the sync runner, the bus processors, the GitHub webhook).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from diogen.metrics.matching import pull_request_commits
from diogen.metrics.queries import id_list
from diogen.silver import (
    Commit,
    PullRequest,
    PullRequestCommit,
    Repository,
)
from diogen.silver.gold import GoldPullRequestCommit, GoldVersion, SilverVersion


@dataclass(frozen=True)
class Freshness:
    """Which repositories' gold rows equal what silver would compute now."""

    fresh: frozenset[str]
    stale: frozenset[str]


def freshness(session: Session, repository_ids: Collection[str] | None = None) -> Freshness:
    """Fresh: gold computed from the repository's current silver version (no version row
    means never written since the triggers exist: version 0)."""
    current = func.coalesce(SilverVersion.version, 0)
    query = (
        select(Repository.id, GoldVersion.version == current)
        .outerjoin(GoldVersion, GoldVersion.repository_id == Repository.id)
        .outerjoin(SilverVersion, SilverVersion.repository_id == Repository.id)
    )
    if repository_ids is not None:
        query = query.where(Repository.id.in_(sorted(repository_ids)))
    fresh: set[str] = set()
    stale: set[str] = set()
    for repository_id, is_fresh in session.execute(query):
        (fresh if is_fresh else stale).add(repository_id)
    return Freshness(frozenset(fresh), frozenset(stale))


def matching(
    session: Session,
    *,
    commits: Select[Any] | None = None,
    pull_requests: Collection[str] | None = None,
) -> Select[Any]:
    """(pull request id, commit id) of the commits `commits` or the pull requests
    `pull_requests`: gold rows of fresh repositories, silver's matching for the others."""
    known = freshness(session)
    branches: list[Select[Any, Any]] = []
    if known.fresh:
        gold = select(GoldPullRequestCommit.pull_request_id, GoldPullRequestCommit.commit_id)
        if commits is not None:
            gold = gold.where(GoldPullRequestCommit.commit_id.in_(commits))
        if pull_requests is not None:
            gold = gold.where(GoldPullRequestCommit.pull_request_id.in_(pull_requests))
        branches.append(gold.where(*only_fresh(session, known)))
    silver = stale_matching(session, known, commits=commits, pull_requests=pull_requests)
    if silver is not None:
        # As a subquery: SQLite cannot nest the silver union in another compound select.
        subquery = silver.subquery()
        branches.append(select(subquery.c.pull_request_id, subquery.c.commit_id))
    if len(branches) == 1:
        return branches[0]
    # Disjoint by repository (a commit matches pull requests of its own repository only).
    return union_all(*branches)  # type: ignore[return-value]


def only_fresh(session: Session, known: Freshness) -> list[ColumnElement[bool]]:
    """The condition keeping gold rows of fresh repositories (none when all are fresh)."""
    if not known.stale:
        return []
    return [GoldPullRequestCommit.repository_id.in_(id_list(session, known.fresh))]


def stale_matching(
    session: Session,
    known: Freshness,
    *,
    commits: Select[Any] | None = None,
    pull_requests: Collection[str] | None = None,
) -> Select[Any] | None:
    """Silver's matching for the stale repositories only; None when none is stale."""
    if not known.stale:
        return None
    stale = id_list(session, known.stale) if known.fresh else None
    if commits is not None:
        if stale is not None:
            in_stale = Commit.repository_id.in_(stale)
            commits = select(Commit.id).where(Commit.id.in_(commits), in_stale)
        return pull_request_commits(commits=commits)
    ids = select(PullRequest.id)
    if pull_requests is not None:
        ids = ids.where(PullRequest.id.in_(pull_requests))
    if stale is not None:
        ids = ids.where(PullRequest.repository_id.in_(stale))
    return pull_request_commits(pull_requests=ids)


def refresh_gold(session: Session, repository_ids: Collection[str] | None = None) -> dict[str, int]:
    """Recompute the gold rows of the stale repositories (of `repository_ids`, or all).

    Never commits: the caller's transaction makes it visible with the silver writes it
    follows (pending ORM rows are flushed by the first query, as any query does). The silver
    version is read before silver, so a write committed in between leaves the repository
    stale rather than fresh with rows that miss it.
    """
    stale = sorted(freshness(session, repository_ids).stale)
    rows = 0
    for repository_id in stale:
        rows += _refresh_one(session, repository_id)
    return {"gold_repositories_refreshed": len(stale), "gold_rows": rows}


def repository_matching(repository_id: str) -> Select[Any]:
    """Silver's matching (`matching.pull_request_commits`) for the pull requests of one
    repository, its three branches written with the repository as a constant: every join is
    then a lookup in a (repository, sha) or (repository, authored_at) index, where the
    general form, which must follow each pull request to its repository, had PostgreSQL hash
    whole tables for each repository (3.8 s a repository at scale 0.1)."""
    listed_commit, copy = aliased(Commit), aliased(Commit)
    own = PullRequest.repository_id == repository_id
    # A listed commit of one of the repository's pull requests, found in the repository.
    listed_join = (
        select(PullRequestCommit.pull_request_id)
        .join(PullRequest, PullRequest.id == PullRequestCommit.pull_request_id)
        .join(
            listed_commit,
            and_(
                listed_commit.repository_id == repository_id,
                listed_commit.sha == PullRequestCommit.sha,
            ),
        )
        .where(own)
    )
    listed = listed_join.add_columns(listed_commit.id.label("commit_id"))
    merged = (
        select(PullRequest.id.label("pull_request_id"), listed_commit.id.label("commit_id"))
        .join(
            listed_commit,
            and_(
                listed_commit.repository_id == repository_id,
                listed_commit.sha == PullRequest.merge_commit_sha,
            ),
        )
        .where(own)
    )
    rebased = listed_join.add_columns(copy.id.label("commit_id")).join(
        copy,
        and_(
            copy.repository_id == repository_id,
            copy.authored_at == listed_commit.authored_at,
            copy.author_email == listed_commit.author_email,
            copy.subject == listed_commit.subject,
            copy.sha != listed_commit.sha,
        ),
    )
    return union(listed, merged, rebased)  # type: ignore[return-value]


# Every join of the refresh has an index to look rows up by; these leave the planner nothing
# else (nested loops over index lookups), whatever it believes of the tables.
_LOOKUPS_ONLY = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "enable_material")


@contextmanager
def _index_lookups(session: Session) -> Iterator[None]:
    """Plans of index lookups for one statement, in this transaction only, restored after.

    Writers refresh in the transaction that just loaded the rows, before autovacuum has
    analysed them: PostgreSQL then believes the tables nearly empty and matched every commit
    of a repository against every other (minutes for 5,000 commits in the tests).
    """
    names = ", ".join(f"current_setting('{name}')" for name in _LOOKUPS_ONLY)
    before = session.execute(text(f"SELECT {names}")).one()
    for name in _LOOKUPS_ONLY:
        session.execute(text(f"SELECT set_config('{name}', 'off', true)"))
    try:
        yield
    finally:
        for name, value in zip(_LOOKUPS_ONLY, before, strict=True):
            session.execute(text(f"SELECT set_config('{name}', :v, true)"), {"v": value})


def _refresh_one(session: Session, repository_id: str) -> int:
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # Two refreshes of one repository take turns: each deletes, then inserts its rows.
        # Advisory locks are the whole database's: the schema keeps Diogens apart.
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock("
                "hashtext('diogen gold ' || current_schema()), hashtext(:id))"
            ),
            {"id": repository_id},
        )
    version = session.scalar(
        select(SilverVersion.version).where(SilverVersion.repository_id == repository_id)
    )
    session.execute(
        delete(GoldPullRequestCommit).where(GoldPullRequestCommit.repository_id == repository_id)
    )
    pairs = repository_matching(repository_id).subquery()
    build = insert(GoldPullRequestCommit).from_select(
        ["pull_request_id", "commit_id", "repository_id"],
        select(pairs.c.pull_request_id, pairs.c.commit_id, literal(repository_id)),
    )
    if postgres:
        with _index_lookups(session):
            session.execute(build)
    else:
        session.execute(build)
    session.execute(delete(GoldVersion).where(GoldVersion.repository_id == repository_id))
    session.execute(insert(GoldVersion).values(repository_id=repository_id, version=version or 0))
    counted = select(func.count()).where(GoldPullRequestCommit.repository_id == repository_id)
    return session.scalar(counted) or 0

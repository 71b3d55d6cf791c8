"""Gold as reports read it: which repositories are fresh, and the commit ↔ pull request matching.

Gold tables (`silver.gold`) hold what reports would otherwise compute from silver on every
call: the commit ↔ pull request matching and the changes of each deployment. A repository is
fresh when the change log holds nothing of it: every silver write gold reads is logged by
database triggers, whoever the writer, and `refresh_gold` (`metrics.gold_refresh`) recomputes
what the logged keys can change and deletes their log rows, in the writer's transaction.
Reports take gold rows only for fresh repositories and compute the others' part from silver
in the same report, so a report is never older than silver, whether or not anyone refreshed;
refreshing only makes it fast again. Writers call `refresh_gold` at their edge, before they
commit (the sync runner, the bus processors, the webhooks, the events API).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, insert, literal, select, union_all
from sqlalchemy.orm import Session

from diogen.metrics.gold_refresh import refresh_gold
from diogen.metrics.matching import pull_request_commits
from diogen.metrics.queries import id_list
from diogen.silver import Commit, PullRequest, Repository
from diogen.silver.gold import REPOSITORY, GoldChangeLog, GoldPullRequestCommit

__all__ = [
    "Freshness",
    "freshness",
    "log_new_whole",
    "mark_stale",
    "matching",
    "only_fresh",
    "refresh_gold",
    "stale_matching",
]


@dataclass(frozen=True)
class Freshness:
    """Which repositories' gold rows equal what silver would compute now."""

    fresh: frozenset[str]
    stale: frozenset[str]


def freshness(session: Session, repository_ids: Collection[str] | None = None) -> Freshness:
    """Fresh: nothing of the repository waits in the change log."""
    repositories = select(Repository.id)
    logged = select(GoldChangeLog.repository_id).distinct()
    if repository_ids is not None:
        wanted = sorted(repository_ids)
        repositories = repositories.where(Repository.id.in_(wanted))
        logged = logged.where(GoldChangeLog.repository_id.in_(wanted))
    stale = set(session.scalars(logged))
    known = set(session.scalars(repositories))
    return Freshness(frozenset(known - stale), frozenset(known & stale))


def mark_stale(session: Session, repository_ids: Collection[str] | None = None) -> None:
    """Log every repository (of `repository_ids`) for a whole rebuild: reports then compute it
    from silver until the next refresh."""
    ids = select(Repository.id, literal(REPOSITORY), Repository.id.label("key"))
    if repository_ids is not None:
        ids = ids.where(Repository.id.in_(sorted(repository_ids)))
    columns = ["repository_id", "kind", "key"]
    session.execute(insert(GoldChangeLog).from_select(columns, ids))


def log_new_whole(session: Session, repository_ids: Collection[str]) -> None:
    """Log for a whole rebuild those of `repository_ids` that hold no commit yet, before a
    bulk writer writes their first ones: the refresh would rebuild them whole anyway (past
    `WHOLE_REBUILD_KEYS` keys, or for a few commits at little cost), and SQLite's triggers
    log no key of a repository logged whole."""
    for repository_id in sorted(repository_ids):
        if session.scalar(select(Commit.id).where(Commit.repository_id == repository_id).limit(1)):
            continue
        session.execute(
            insert(GoldChangeLog).values(
                repository_id=repository_id, kind=REPOSITORY, key=repository_id
            )
        )


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

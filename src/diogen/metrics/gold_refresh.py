"""Refreshing gold from the change log: recompute what the logged keys can change, nothing else.

The keys of every repository are refreshed together (`gold_keys`), following from each key
only what it can change. A repository logged whole (`gold.mark_stale`), with more keys than
a lookup per key is worth, or with a logged commit or pull request that is gone (its gold
rows went with it, and with them what they pointed at) is rebuilt whole instead.

Never commits: the caller's transaction makes gold visible with the silver writes it follows.
Each repository's log rows are claimed (deleted) before silver is read, so a write committed
meanwhile leaves its own row behind and the repository stale, never fresh and wrong.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import case, delete, func, select, text
from sqlalchemy.orm import Session

from diogen.metrics.gold_keys import (
    Keys,
    index_lookups,
    insert_authors,
    insert_changes,
    insert_matching,
    refresh_keys,
)
from diogen.metrics.gold_rows import repository_change_rows, repository_matching
from diogen.metrics.gold_shipments import note_shipments
from diogen.metrics.queries import id_list
from diogen.silver import Commit, Deployment, PullRequest
from diogen.silver.gold import (
    REPOSITORY,
    GoldChange,
    GoldChangeLog,
    GoldDeploymentAuthor,
    GoldPullRequestCommit,
)

# Past this many logged keys one pass over the repository's rows beats a lookup per key.
WHOLE_REBUILD_KEYS = 5000


def refresh_gold(session: Session, repository_ids: Collection[str] | None = None) -> dict[str, int]:
    """Bring gold up to date for every repository (of `repository_ids`) with logged writes:
    the repositories to rebuild whole one by one, the keys of all others in one pass."""
    pending = _pending(session, repository_ids)
    for repository_id in sorted(pending):
        _lock(session, repository_id)
    whole = {
        repo
        for repo, (count, logged_whole) in pending.items()
        if logged_whole or count > WHOLE_REBUILD_KEYS
    }
    keys = _claim(session, sorted(set(pending) - whole))
    whole |= keys.beyond(WHOLE_REBUILD_KEYS) | _gone(session, keys)
    _rebuild(session, sorted(whole))
    refresh_keys(session, keys.without(whole))
    return {"gold_repositories_refreshed": len(pending), "gold_rebuilt_whole": len(whole)}


def _pending(
    session: Session, repository_ids: Collection[str] | None
) -> dict[str, tuple[int, bool]]:
    log = GoldChangeLog
    whole = func.max(case((log.kind == REPOSITORY, 1), else_=0))
    query = select(log.repository_id, func.count(), whole).group_by(log.repository_id)
    if repository_ids is not None:
        query = query.where(log.repository_id.in_(sorted(repository_ids)))
    return {repo: (count, bool(whole)) for repo, count, whole in session.execute(query)}


def _lock(session: Session, repository_id: str) -> None:
    """Two refreshes of one repository take turns (PostgreSQL; SQLite has one writer), every
    refresh taking its repositories' locks in one order. Advisory locks are the whole
    database's: the schema keeps Diogens apart."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock("
            "hashtext('diogen gold ' || current_schema()), hashtext(:id))"
        ),
        {"id": repository_id},
    )


def _claim_all(session: Session, repository_id: str) -> None:
    claimed = delete(GoldChangeLog).where(GoldChangeLog.repository_id == repository_id)
    session.execute(claimed.execution_options(synchronize_session=False))


def _claim(session: Session, repository_ids: list[str]) -> Keys:
    keys = Keys()
    if not repository_ids:
        return keys
    claimed = session.execute(
        delete(GoldChangeLog)
        .where(GoldChangeLog.repository_id.in_(id_list(session, repository_ids)))
        .returning(GoldChangeLog.repository_id, GoldChangeLog.kind, GoldChangeLog.key)
    )
    for repository_id, kind, key in claimed:
        keys.add(repository_id, kind, key)
    return keys


def _gone(session: Session, keys: Keys) -> set[str]:
    """The repositories of logged commits and pull requests that no longer exist."""
    gone: set[str] = set()
    for model, ids in ((Commit, keys.commits), (PullRequest, keys.pull_requests)):
        if ids:
            found = set(
                session.scalars(select(model.id).where(model.id.in_(id_list(session, ids))))
            )
            gone |= {ids[key] for key in ids.keys() - found}
    return gone


def _rebuild(session: Session, repository_ids: list[str]) -> None:
    """Every gold row of the repositories, phase by phase: their matching first, which the
    change rows read."""
    for repository_id in repository_ids:
        _claim_all(session, repository_id)
        for model in (GoldChange, GoldPullRequestCommit, GoldDeploymentAuthor):
            rows = delete(model).where(model.repository_id == repository_id)
            session.execute(rows.execution_options(synchronize_session=False))
    with index_lookups(session):
        for repository_id in repository_ids:
            insert_matching(session, repository_matching(repository_id))
        _describe_large_matching(session, len(repository_ids))
        for repository_id in repository_ids:
            insert_changes(session, repository_change_rows(repository_id))
            insert_authors(session, Deployment.repository_id == repository_id)
    for repository_id in repository_ids:
        note_shipments(session, GoldChange.repository_id == repository_id)


# A whole rebuild of this many repositories is a first build (after a load or a migration).
LARGE_REBUILD = 10


def _describe_large_matching(session: Session, repositories: int) -> None:
    """Statistics of the matching just written, to this transaction (PostgreSQL's ANALYZE
    samples its own uncommitted rows). Believing the table as empty as when last analysed,
    it chose the index whose order looked useful over the one with the condition: a walk of
    the whole matching per pull request, minutes per repository in a first build."""
    if repositories >= LARGE_REBUILD and session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE gold_pull_request_commit"))

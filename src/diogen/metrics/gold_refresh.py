"""Refreshing gold from the change log: recompute what the logged keys can change, nothing else.

A logged commit can change the pull requests it belongs to (listed, merge commit, rebased
copy) and, through them, which commits have rows of their own; a logged pull request its own
matching and rows; a logged deployment the rows of the changes it shipped. The refresh
follows exactly those edges, so its cost follows what was written, not the history. A
repository logged whole (`gold.mark_stale`), with more keys than a lookup per key is worth,
or with a logged commit or pull request that is gone (its gold rows went with it, and with
them what they pointed at) is rebuilt whole.

Never commits: the caller's transaction makes gold visible with the silver writes it follows.
Each repository's log rows are claimed (deleted) before silver is read, so a write committed
meanwhile leaves its own row behind and the repository stale, never fresh and wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    case,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from diogen.metrics.gold_rows import (
    deployment_author_rows,
    keyed_change_rows,
    repository_change_rows,
    repository_matching,
    repository_pull_requests_of,
)
from diogen.metrics.queries import id_list
from diogen.silver import Commit, Deployment, DeploymentCommit, PullRequest
from diogen.silver.gold import (
    COMMIT,
    DEPLOYMENT,
    PULL_REQUEST,
    REPOSITORY,
    GoldChange,
    GoldChangeLog,
    GoldDeploymentAuthor,
    GoldPullRequestCommit,
)

# Past this many logged keys one pass over the repository's rows beats a lookup per key.
WHOLE_REBUILD_KEYS = 5000


@dataclass
class _Keys:
    """The distinct keys logged for one repository."""

    commits: set[str] = field(default_factory=set)
    pull_requests: set[str] = field(default_factory=set)
    deployments: set[str] = field(default_factory=set)
    whole: bool = False

    def add(self, kind: str, key: str) -> None:
        if kind == COMMIT:
            self.commits.add(key)
        elif kind == PULL_REQUEST:
            self.pull_requests.add(key)
        elif kind == DEPLOYMENT:
            self.deployments.add(key)
        else:
            self.whole = self.whole or kind == REPOSITORY


def refresh_gold(session: Session, repository_ids: Collection[str] | None = None) -> dict[str, int]:
    """Bring gold up to date for every repository (of `repository_ids`) with logged writes."""
    pending = _pending(session, repository_ids)
    whole = 0
    for repository_id, (count, logged_whole) in sorted(pending.items()):
        _lock(session, repository_id)
        if logged_whole or count > WHOLE_REBUILD_KEYS:
            _claim_all(session, repository_id)
            keys = _Keys(whole=True)
        else:
            keys = _claim(session, repository_id)
        if keys.whole or _gone(session, keys):
            whole += 1
            _rebuild(session, repository_id)
        else:
            _refresh_keys(session, repository_id, keys)
    return {"gold_repositories_refreshed": len(pending), "gold_rebuilt_whole": whole}


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
    """Two refreshes of one repository take turns (PostgreSQL; SQLite has one writer). Advisory
    locks are the whole database's: the schema keeps Diogens apart."""
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


def _claim(session: Session, repository_id: str) -> _Keys:
    claimed = session.execute(
        delete(GoldChangeLog)
        .where(GoldChangeLog.repository_id == repository_id)
        .returning(GoldChangeLog.kind, GoldChangeLog.key)
    )
    keys = _Keys()
    for kind, key in claimed:
        keys.add(kind, key)
    total = len(keys.commits) + len(keys.pull_requests) + len(keys.deployments)
    keys.whole = keys.whole or total > WHOLE_REBUILD_KEYS
    return keys


def _gone(session: Session, keys: _Keys) -> bool:
    """Whether a logged commit or pull request no longer exists."""
    for model, ids in ((Commit, keys.commits), (PullRequest, keys.pull_requests)):
        if ids:
            found = select(func.count()).where(model.id.in_(id_list(session, ids)))
            if session.scalar(found) != len(ids):
                return True
    return False


def _rebuild(session: Session, repository_id: str) -> None:
    for model in (GoldChange, GoldPullRequestCommit, GoldDeploymentAuthor):
        rows = delete(model).where(model.repository_id == repository_id)
        session.execute(rows.execution_options(synchronize_session=False))
    with _index_lookups(session):
        _insert_matching(session, repository_matching(repository_id))
        _insert_changes(session, repository_change_rows(repository_id))
        _insert_authors(session, Deployment.repository_id == repository_id)
    _note_earlier_environments(session, GoldChange.repository_id == repository_id)


def _refresh_keys(session: Session, repository_id: str, keys: _Keys) -> None:
    """Recompute the matching of the pull requests the keys reach, then the rows of every
    change and deployment whose rows those can change."""
    with _index_lookups(session):
        pull_requests = keys.pull_requests | _pull_requests_of(session, repository_id, keys.commits)
        before = _matched_commits(session, pull_requests)
        prs = id_list(session, pull_requests)
        session.execute(
            delete(GoldPullRequestCommit)
            .where(GoldPullRequestCommit.pull_request_id.in_(prs))
            .execution_options(synchronize_session=False)
        )
        _insert_matching(session, repository_matching(repository_id, prs))
        # Commits that joined or left a pull request gain or lose rows of their own.
        commits = keys.commits | before | _matched_commits(session, pull_requests)
        deployments = id_list(session, keys.deployments)
        changes = pull_requests | commits | _changes_of(session, deployments)
        for stale in (
            GoldChange.change_id.in_(id_list(session, pull_requests | commits)),
            GoldChange.deployment_id.in_(deployments),
        ):
            rows = delete(GoldChange).where(stale)
            session.execute(rows.execution_options(synchronize_session=False))
        keyed = keyed_change_rows(prs, id_list(session, commits), deployments)
        _insert_changes(session, keyed)
        changes |= _changes_of(session, deployments)
        _refresh_authors(session, keys)
    # Every row of a change whose rows changed: when it shipped elsewhere before may be new.
    _note_earlier_environments(session, GoldChange.change_id.in_(id_list(session, changes)))


def _refresh_authors(session: Session, keys: _Keys) -> None:
    """The author rows of the logged deployments and of those shipping a logged commit."""
    shipping = select(DeploymentCommit.deployment_id).where(
        DeploymentCommit.commit_id.in_(id_list(session, keys.commits))
    )
    deployments = id_list(session, keys.deployments | set(session.scalars(shipping)))
    stale = delete(GoldDeploymentAuthor).where(GoldDeploymentAuthor.deployment_id.in_(deployments))
    session.execute(stale.execution_options(synchronize_session=False))
    _insert_authors(session, Deployment.id.in_(deployments))


def _insert_authors(session: Session, deployments: ColumnElement[bool]) -> None:
    rows = deployment_author_rows(deployments)
    columns = [column.name for column in rows.selected_columns]
    session.execute(insert(GoldDeploymentAuthor).from_select(columns, rows))


def _changes_of(session: Session, deployments: Select[Any]) -> set[str]:
    query = select(GoldChange.change_id).where(GoldChange.deployment_id.in_(deployments))
    return set(session.scalars(query))


def _note_earlier_environments(session: Session, rows: ColumnElement[bool]) -> None:
    """Set `earlier_environments` on the `rows` of `gold_change`, every row of each of their
    changes among them."""
    query = (
        select(
            GoldChange.change_id,
            GoldChange.deployment_id,
            GoldChange.environment,
            GoldChange.deployed_at,
            GoldChange.earlier_environments,
        )
        .where(rows)
        .order_by(GoldChange.change_id, GoldChange.deployed_at)
    )
    updates: list[dict[str, Any]] = []
    for change_id, shipments in groupby(session.execute(query), key=itemgetter(0)):
        ordered = list(shipments)
        before: set[str] = set()
        passed = 0
        for _, deployment_id, _, deployed_at, stored in ordered:
            while ordered[passed][3] < deployed_at:
                before.add(ordered[passed][2])
                passed += 1
            earlier = sorted(before) or None
            if earlier != stored:
                updates.append(
                    {
                        "deployment_id": deployment_id,
                        "change_id": change_id,
                        "earlier_environments": earlier,
                    }
                )
    if updates:
        session.execute(update(GoldChange), updates)


def _pull_requests_of(session: Session, repository_id: str, commits: set[str]) -> set[str]:
    """The pull requests the commits belong to, as gold has it and as silver has it now."""
    if not commits:
        return set()
    ids = id_list(session, commits)
    stored = select(GoldPullRequestCommit.pull_request_id).where(
        GoldPullRequestCommit.commit_id.in_(ids)
    )
    now = repository_pull_requests_of(repository_id, ids)
    return set(session.scalars(stored)) | set(session.scalars(now))


def _matched_commits(session: Session, pull_requests: set[str]) -> set[str]:
    if not pull_requests:
        return set()
    query = select(GoldPullRequestCommit.commit_id).where(
        GoldPullRequestCommit.pull_request_id.in_(id_list(session, pull_requests))
    )
    return set(session.scalars(query))


def _insert_matching(session: Session, pairs: Select[tuple[str, str, str]]) -> None:
    columns = ["pull_request_id", "commit_id", "repository_id"]
    session.execute(insert(GoldPullRequestCommit).from_select(columns, pairs))


def _insert_changes(session: Session, rows: Sequence[Select[Any] | CompoundSelect[Any]]) -> None:
    for query in rows:
        columns = [column.name for column in query.selected_columns]
        session.execute(insert(GoldChange).from_select(columns, query))


# Every join of the refresh has an index to look rows up by; these leave the planner nothing
# else (nested loops over index lookups), whatever it believes of the tables.
_LOOKUPS_ONLY = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "enable_material")


@contextmanager
def _index_lookups(session: Session) -> Iterator[None]:
    """Plans of index lookups on PostgreSQL, in this transaction only, restored after.

    Writers refresh in the transaction that just loaded the rows, before autovacuum has
    analysed them: PostgreSQL then believes the tables nearly empty and matched every commit
    of a repository against every other (minutes for 5,000 commits in the tests).
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    names = ", ".join(f"current_setting('{name}')" for name in _LOOKUPS_ONLY)
    before = session.execute(text(f"SELECT {names}")).one()
    for name in _LOOKUPS_ONLY:
        session.execute(text(f"SELECT set_config('{name}', 'off', true)"))
    try:
        yield
    finally:
        for name, value in zip(_LOOKUPS_ONLY, before, strict=True):
            session.execute(text(f"SELECT set_config('{name}', :v, true)"), {"v": value})

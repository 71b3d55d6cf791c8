"""Refreshing gold for logged keys, every repository's in one pass, and what a whole rebuild
shares with it.

A logged commit can change the pull requests it belongs to (listed, merge commit, rebased
copy) and, through them, which commits have rows of their own; a logged pull request its own
matching and rows; a logged deployment the rows of the changes it shipped, and who wrote
what it shipped. The pass follows exactly those edges with statements entered by the keys,
so its cost follows what was written, not the history, nor the number of repositories.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, delete, insert, select, text
from sqlalchemy.orm import Session

from diogen.metrics.gold_rows import (
    deployment_author_rows,
    keyed_change_rows,
    matching_of_pull_requests,
    pull_requests_of_commits,
)
from diogen.metrics.gold_shipments import note_shipments
from diogen.metrics.queries import id_list
from diogen.silver import Deployment, DeploymentCommit
from diogen.silver.gold import (
    COMMIT,
    DEPLOYMENT,
    PULL_REQUEST,
    REPOSITORY,
    GoldChange,
    GoldDeploymentAuthor,
    GoldPullRequestCommit,
)


@dataclass
class Keys:
    """The distinct keys claimed from the log, each with its repository."""

    commits: dict[str, str] = field(default_factory=dict)
    pull_requests: dict[str, str] = field(default_factory=dict)
    deployments: dict[str, str] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)

    def add(self, repository_id: str, kind: str, key: str) -> None:
        if kind == COMMIT:
            self.commits[key] = repository_id
        elif kind == PULL_REQUEST:
            self.pull_requests[key] = repository_id
        elif kind == DEPLOYMENT:
            self.deployments[key] = repository_id
        elif kind == REPOSITORY:
            self.whole.add(repository_id)

    def beyond(self, limit: int) -> set[str]:
        """The repositories logged whole or with more than `limit` keys."""
        counts: dict[str, int] = {}
        for kinds in (self.commits, self.pull_requests, self.deployments):
            for repository_id in kinds.values():
                counts[repository_id] = counts.get(repository_id, 0) + 1
        return self.whole | {repo for repo, count in counts.items() if count > limit}

    def without(self, repositories: set[str]) -> Keys:
        def kept(kinds: dict[str, str]) -> dict[str, str]:
            return {key: repo for key, repo in kinds.items() if repo not in repositories}

        return Keys(kept(self.commits), kept(self.pull_requests), kept(self.deployments))


def refresh_keys(session: Session, keys: Keys) -> None:
    """Recompute the matching of the pull requests the keys reach, then the rows of every
    change and deployment whose rows those can change."""
    if not (keys.commits or keys.pull_requests or keys.deployments):
        return
    with index_lookups(session):
        pull_requests = set(keys.pull_requests) | _pull_requests_of(session, set(keys.commits))
        prs = _refresh_matching(session, pull_requests)
        # Commits that joined or left a pull request gain or lose rows of their own.
        commits = set(keys.commits) | prs.joined_or_left
        deployments = id_list(session, keys.deployments) if keys.deployments else None
        changes = pull_requests | commits | _changes_of(session, deployments)
        stale = [GoldChange.change_id.in_(id_list(session, pull_requests | commits))]
        if deployments is not None:
            stale.append(GoldChange.deployment_id.in_(deployments))
        for rows in stale:
            session.execute(
                delete(GoldChange).where(rows).execution_options(synchronize_session=False)
            )
        commit_ids = id_list(session, commits) if commits else None
        insert_changes(session, keyed_change_rows(prs.ids, commit_ids, deployments))
        changes |= _changes_of(session, deployments)
        _refresh_authors(session, keys)
    # Every row of a change whose rows changed: where it shipped before may be new.
    note_shipments(session, GoldChange.change_id.in_(id_list(session, changes)))


def _pull_requests_of(session: Session, commits: set[str]) -> set[str]:
    """The pull requests the commits belong to, as gold has it and as silver has it now."""
    if not commits:
        return set()
    ids = id_list(session, commits)
    stored = select(GoldPullRequestCommit.pull_request_id).where(
        GoldPullRequestCommit.commit_id.in_(ids)
    )
    return set(session.scalars(stored)) | set(session.scalars(pull_requests_of_commits(ids)))


@dataclass(frozen=True)
class _Matching:
    ids: Select[Any] | None  # the pull requests as a bound list; None for none
    joined_or_left: set[str]  # commits matched to them before or after


def _refresh_matching(session: Session, pull_requests: set[str]) -> _Matching:
    if not pull_requests:
        return _Matching(None, set())
    before = _matched_commits(session, pull_requests)
    prs = id_list(session, pull_requests)
    stale = delete(GoldPullRequestCommit).where(GoldPullRequestCommit.pull_request_id.in_(prs))
    session.execute(stale.execution_options(synchronize_session=False))
    insert_matching(session, matching_of_pull_requests(prs))
    return _Matching(prs, before | _matched_commits(session, pull_requests))


def _matched_commits(session: Session, pull_requests: set[str]) -> set[str]:
    if not pull_requests:
        return set()
    query = select(GoldPullRequestCommit.commit_id).where(
        GoldPullRequestCommit.pull_request_id.in_(id_list(session, pull_requests))
    )
    return set(session.scalars(query))


def _changes_of(session: Session, deployments: Select[Any] | None) -> set[str]:
    if deployments is None:
        return set()
    query = select(GoldChange.change_id).where(GoldChange.deployment_id.in_(deployments))
    return set(session.scalars(query))


def _refresh_authors(session: Session, keys: Keys) -> None:
    """The author rows of the logged deployments and of those shipping a logged commit."""
    shipping = select(DeploymentCommit.deployment_id).where(
        DeploymentCommit.commit_id.in_(id_list(session, keys.commits))
    )
    found = set(keys.deployments) | (set(session.scalars(shipping)) if keys.commits else set())
    if not found:
        return
    deployments = id_list(session, found)
    stale = delete(GoldDeploymentAuthor).where(GoldDeploymentAuthor.deployment_id.in_(deployments))
    session.execute(stale.execution_options(synchronize_session=False))
    insert_authors(session, Deployment.id.in_(deployments))


def insert_matching(session: Session, pairs: Select[Any]) -> None:
    columns = ["pull_request_id", "commit_id", "repository_id"]
    session.execute(insert(GoldPullRequestCommit).from_select(columns, pairs))


def insert_changes(session: Session, rows: Sequence[Select[Any] | CompoundSelect[Any]]) -> None:
    for query in rows:
        columns = [column.name for column in query.selected_columns]
        session.execute(insert(GoldChange).from_select(columns, query, include_defaults=False))


def insert_authors(session: Session, deployments: ColumnElement[bool]) -> None:
    rows = deployment_author_rows(deployments)
    columns = [column.name for column in rows.selected_columns]
    session.execute(insert(GoldDeploymentAuthor).from_select(columns, rows))


# Every join of the refresh has an index to look rows up by; these leave the planner nothing
# else (nested loops over index lookups), whatever it believes of the tables.
_LOOKUPS_ONLY = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "enable_material")


@contextmanager
def index_lookups(session: Session) -> Iterator[None]:
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

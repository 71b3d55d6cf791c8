"""The inputs of lead time read from `gold_change`, for deployments of fresh repositories.

Silver's way (`change_inputs.silver_inputs`) walks every deployed commit of the counted
deployments, matches each to pull requests and aggregates the pull requests' commits, reviews
and deployments; gold holds the answer per change and deployment. Here a report reads the
rows of its deployments by index in one statement, then the few other production
deployments of the same changes, and nothing per commit of a pull request.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, null, select
from sqlalchemy.orm import Session

from diogen.metrics.change_inputs import ChangeInputs, ReportDeployments
from diogen.metrics.pull_facts import marked_hotfix
from diogen.metrics.pull_queries import PullRequestFacts
from diogen.metrics.queries import ChangeRecord, id_list, in_scope_among
from diogen.metrics.scope import ResolvedScope
from diogen.metrics.window import Window
from diogen.silver import Commit, DeploymentCommit
from diogen.silver.gold import COMMIT, PULL_REQUEST, GoldChange, GoldPullRequestCommit

# A change reaching production: (finished at, deployment id), ordered as silver's queries
# break ties.
Shipment = tuple[datetime, str]


def gold_inputs(
    session: Session,
    scope: ResolvedScope,
    environments: tuple[str, ...],
    window: Window,
    deployments: ReportDeployments,
    hotfix: re.Pattern[str],
    *,
    explain: bool,
) -> ChangeInputs:
    counted = set(deployments.counted)
    reading = _Reading(counted, deployments.finished_at, set(environments))
    inputs = ChangeInputs()
    recent = id_list(session, deployments.recent)
    # Core, not the ORM: these are the rows a report reads most of, and plain tuples suffice.
    connection = session.connection()
    for row in connection.execute(_commit_rows(session, scope, recent, explain=explain)).all():
        dep, change, repo, sha, first_commit, is_merge, earlier, author, author_at = row
        if reading.shipped(dep, change, earlier) and scope.is_member(author, author_at):
            inputs.records.append(ChangeRecord(dep, change, sha, repo, first_commit, is_merge))
    pull_requests: list[Any] = []
    for row in connection.execute(_pull_request_rows(recent)).all():
        if marked_hotfix(hotfix, row.head_ref, row.labels):
            inputs.hotfixes.add(row.deployment_id)
        # A pull request counts for its author's scope only (the hotfix rule reads them all).
        if scope.is_member(row.author_identity_id, row.author_at) and reading.shipped(
            row.deployment_id, row.change_id, row.earlier_environments
        ):
            pull_requests.append(row)
    elsewhere = _earlier_elsewhere(session, scope, environments, window, reading.elsewhere, counted)
    for change, shipment in elsewhere:
        reading.count[change] += 1
        reading.first[change] = min(reading.first[change], shipment)
    inputs.first_deploy = {
        record.commit_id: reading.first[record.commit_id][0]
        for record in inputs.records
        if reading.count[record.commit_id] > 1
    }
    inputs.pull_requests = {
        row.change_id: _facts(row, reading.first[row.change_id]) for row in pull_requests
    }
    inputs.in_scope = dict.fromkeys(inputs.pull_requests, True)
    if explain:
        inputs.shas = _shipped_shas(session, id_list(session, counted))
    return inputs


@dataclass
class _Reading:
    """Where each change read so far first shipped among the counted deployments, how many of
    those shipped it, and which changes shipped to production before (`earlier_environments`)."""

    counted: set[str]
    finished_at: Mapping[str, datetime | None]
    production: set[str]
    first: dict[str, Shipment] = field(default_factory=dict)
    count: Counter[str] = field(default_factory=Counter)
    elsewhere: set[str] = field(default_factory=set)

    def shipped(self, deployment_id: str, change_id: str, earlier: list[str] | None) -> bool:
        """Note one row; whether its deployment is counted."""
        if deployment_id not in self.counted:
            return False
        at = self.finished_at[deployment_id]
        assert at is not None  # counted deployments are finished
        self.count[change_id] += 1
        known = self.first.get(change_id)
        if known is None or (at, deployment_id) < known:
            self.first[change_id] = (at, deployment_id)
        if earlier and not self.production.isdisjoint(earlier):
            self.elsewhere.add(change_id)
        return True


def _commit_rows(
    session: Session, scope: ResolvedScope, recent: Select[Any], *, explain: bool
) -> Select[*tuple[Any, ...]]:
    """The commits the recent deployments shipped: only those that can be changes of the
    scope (a team's: written by a member), merge commits only for the evidence (they never
    count)."""
    gold = GoldChange
    team = scope.team_ids is not None
    author = (gold.author_identity_id, gold.author_at) if team else (null(), null())
    query: Select[*tuple[Any, ...]] = select(
        gold.deployment_id,
        gold.change_id,
        gold.repository_id,
        gold.sha,
        gold.first_commit_at,
        gold.is_merge,
        gold.earlier_environments,
        *author,
    ).where(gold.deployment_id.in_(recent), gold.kind == COMMIT)
    if not explain:
        query = query.where(gold.is_merge.is_(False))
    if team:
        query = query.where(gold.author_identity_id.in_(id_list(session, scope.members)))
    return query


def _pull_request_rows(recent: Select[Any]) -> Select[*tuple[Any, ...]]:
    """The pull requests the recent deployments shipped: all of them (the hotfix rule reads
    any), whose authors `_facts` judges."""
    gold = GoldChange
    return select(
        gold.deployment_id,
        gold.change_id,
        gold.repository_id,
        gold.earlier_environments,
        gold.number,
        gold.author_identity_id,
        gold.author_at,
        gold.first_commit_at,
        gold.ready_for_review_at,
        gold.first_review_at,
        gold.merged_at,
        gold.head_ref,
        gold.labels,
    ).where(gold.deployment_id.in_(recent), gold.kind == PULL_REQUEST)


def _earlier_elsewhere(
    session: Session,
    scope: ResolvedScope,
    environments: tuple[str, ...],
    window: Window,
    changes: set[str],
    counted: set[str],
) -> list[tuple[str, Shipment]]:
    """The production deployments in scope, before the window's end, of `changes` (those that
    shipped to a production environment before a counted deployment of theirs) other than the
    counted ones: where such a change first reached production."""
    if not changes:
        return []
    query = select(GoldChange.change_id, GoldChange.deployment_id, GoldChange.deployed_at).where(
        GoldChange.change_id.in_(id_list(session, changes)),
        GoldChange.environment.in_(environments),
        GoldChange.deployed_at < window.end,
    )
    # The counted deployments' own rows were read with their changes.
    rows = [row for row in session.execute(query) if row.deployment_id not in counted]
    candidates = id_list(session, {row.deployment_id for row in rows})
    in_scope = set(session.scalars(in_scope_among(scope, candidates)))
    return [(change, (at, dep)) for change, dep, at in rows if dep in in_scope]


def _facts(row: Any, first: Shipment) -> PullRequestFacts:
    return PullRequestFacts(
        id=row.change_id,
        repository_id=row.repository_id,
        number=row.number,
        created_at=row.author_at,
        ready_for_review_at=row.ready_for_review_at,
        merged_at=row.merged_at,
        author_in_scope=True,
        first_commit_at=row.first_commit_at,
        first_review_at=row.first_review_at,
        deployment_id=first[1],
        deployed_at=first[0],
    )


def _shipped_shas(session: Session, counted: Select[Any]) -> defaultdict[str, set[str]]:
    """Per pull request, the shas of its commits the counted deployments shipped."""
    query = (
        select(GoldPullRequestCommit.pull_request_id, Commit.sha)
        .select_from(DeploymentCommit)
        .join(GoldPullRequestCommit, GoldPullRequestCommit.commit_id == DeploymentCommit.commit_id)
        .join(Commit, Commit.id == DeploymentCommit.commit_id)
        .where(DeploymentCommit.deployment_id.in_(counted))
    )
    shas: defaultdict[str, set[str]] = defaultdict(set)
    for pull_request_id, sha in session.execute(query):
        shas[pull_request_id].add(sha)
    return shas

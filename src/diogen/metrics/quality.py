"""The data quality report (`diogen doctor`): what metrics leave out or cannot attribute, and why.

Each finding has a stable `check` code, a count, a sentence saying why it matters and up to ten
examples, oldest first. Every check is one or two queries whatever the data size; nothing runs
once per commit or per deployment.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from diogen.config import PRODUCTION_ENVIRONMENT_PATTERN, RELEASE_PATTERN
from diogen.errors import InputError
from diogen.metrics.incidents import DEFAULT_ATTRIBUTION_HOURS, attribute, load_incidents
from diogen.metrics.scope import (
    Scope,
    environment_pattern,
    resolve_scope,
    scope_repository_ids,
)
from diogen.metrics.window import isoformat_z
from diogen.silver import (
    Commit,
    Deployment,
    DeploymentCommit,
    GitRef,
    Identity,
    Incident,
    Person,
    PullRequest,
    PullRequestCommit,
    Repository,
)
from diogen.silver.deployments import TAG_SOURCE

EXAMPLES = 10
RepositoryIds = tuple[str, ...] | None
Finding = dict[str, Any]

QUALITY_CHECKS = (
    "undeployed_changes",
    "unreachable_commits",
    "undeployed_pull_requests",
    "deployments_without_commits",
    "deployments_with_unknown_sha",
    "unattributed_incidents",
    "history_incomplete",
    "identities_not_merged",
    "release_tags_without_deployment",
)


def data_quality(
    session: Session,
    scope: Scope | None = None,
    *,
    release_pattern: str = RELEASE_PATTERN,
    production_environment: str = PRODUCTION_ENVIRONMENT_PATTERN,
    incident_attribution_hours: float = DEFAULT_ATTRIBUTION_HOURS,
) -> dict[str, Any]:
    """Every check for `scope` (default: the organisation); an unknown name → NotFoundError.

    A team's or a service's checks cover the repositories it owns or spans.
    """
    scope = scope or Scope()
    pattern = _release_regex(release_pattern)
    production = environment_pattern(production_environment)
    ids = scope_repository_ids(session, resolve_scope(session, scope))
    findings = [
        _undeployed_changes(session, ids),
        _unreachable_commits(session, ids),
        _undeployed_pull_requests(session, ids),
        _deployments_without_commits(session, ids),
        _deployments_with_unknown_sha(session, ids),
        _unattributed_incidents(session, ids, production, incident_attribution_hours),
        _history_incomplete(session, ids),
        _identities_not_merged(session, ids),
        _release_tags_without_deployment(session, ids, pattern),
    ]
    return {
        "scope": scope.to_json(),
        "release_pattern": release_pattern,
        "problems": sum(finding["count"] for finding in findings),
        "findings": findings,
    }


def _release_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InputError(
            f"release pattern {pattern!r} is not a valid regular expression: {exc}",
            pattern=pattern,
        ) from exc


def _in_scope(column: InstrumentedAttribute[Any], ids: RepositoryIds) -> ColumnElement[bool]:
    return true() if ids is None else column.in_(ids)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else isoformat_z(moment)


def _finding(check: str, title: str, reason: str, count: int, examples: list[Any]) -> Finding:
    return {
        "check": check,
        "title": title,
        "count": count,
        "reason": reason,
        "examples": examples,
    }


# Commits


def _commit_finding(
    session: Session,
    check: str,
    title: str,
    reason: str,
    condition: ColumnElement[bool],
    outer: tuple[Any, ColumnElement[bool]] | None = None,
) -> Finding:
    """Count, newest author date and the oldest examples of the commits matching `condition`
    (on the commits joined to `outer`, a table and its condition, when given)."""
    # The count and the newest date as window aggregates of the examples' statement: one walk
    # over the history instead of two (each is a scan of every commit with an EXISTS per row).
    # The matching commits are found first, on their own (materialised): ordered for the
    # examples, PostgreSQL sorted every commit and probed the deployed commits' index once per
    # commit (830,000 probes at scale 1, 6.5 s), where alone it hashes them (1.6 s).
    commits = select(Commit.repository_id, Commit.sha, Commit.authored_at, Commit.subject)
    if outer is not None:
        commits = commits.outerjoin(*outer)
    matching = commits.where(condition).cte("matching").prefix_with("MATERIALIZED")
    rows = session.execute(
        select(
            Repository.name,
            matching.c.sha,
            matching.c.authored_at,
            matching.c.subject,
            func.count().over(),
            func.max(matching.c.authored_at).over(),
        )
        .join(Repository, Repository.id == matching.c.repository_id)
        .order_by(matching.c.authored_at, matching.c.sha)
        .limit(EXAMPLES)
    ).all()
    examples = [
        {"repo": repo, "sha": sha, "date": _time(when), "subject": subject}
        for repo, sha, when, subject, _, _ in rows
    ]
    count, newest = (rows[0][4], rows[0][5]) if rows else (0, None)
    finding = _finding(check, title, reason, int(count), examples)
    finding["newest"] = _time(newest)
    return finding


def _deployed() -> ColumnElement[bool]:
    return exists().where(DeploymentCommit.commit_id == Commit.id)


def _undeployed_changes(session: Session, ids: RepositoryIds) -> Finding:
    condition = and_(
        _in_scope(Commit.repository_id, ids),
        Commit.reachable.is_(True),
        Commit.is_merge.is_(False),
        ~_deployed(),
    )
    reason = "reachable non-merge commits that no successful deployment contains yet"
    return _commit_finding(
        session, "undeployed_changes", "changes not yet deployed", reason, condition
    )


def _unreachable_commits(session: Session, ids: RepositoryIds) -> Finding:
    condition = and_(_in_scope(Commit.repository_id, ids), Commit.reachable.is_(False))
    reason = (
        "no longer reachable from any branch or tag (force-pushed away or branch deleted); "
        "excluded from every metric"
    )
    return _commit_finding(
        session, "unreachable_commits", "commits no longer reachable", reason, condition
    )


def _history_incomplete(session: Session, ids: RepositoryIds) -> Finding:
    """Deployed commits whose parent is not stored: the boundary of a shallow clone, or a gap."""
    # The parent by an outer join (one hash of the commits), not NOT EXISTS: inside the OR
    # that stayed a probe of the commits' index per commit (830,000 at scale 1: 8.5 -> 1.6 s).
    parent = aliased(Commit)
    on_parent = and_(parent.repository_id == Commit.repository_id, parent.sha == Commit.parents)
    # A shallow boundary commit is stored without parents and, unlike a root commit, without stats.
    boundary = and_(Commit.parents == "", Commit.additions.is_(None))
    condition = and_(
        _in_scope(Commit.repository_id, ids),
        Commit.reachable.is_(True),
        Commit.is_merge.is_(False),
        _deployed(),
        or_(boundary, and_(Commit.parents != "", parent.id.is_(None))),
    )
    reason = (
        "deployed commits whose parents are not stored (shallow clone or missing history): "
        "their change may have started earlier, so its first commit is missing"
    )
    return _commit_finding(
        session, "history_incomplete", "history incomplete", reason, condition, (parent, on_parent)
    )


# Pull requests


def _undeployed_pull_requests(session: Session, ids: RepositoryIds) -> Finding:
    # Two EXISTS, not one over `merge sha OR listed sha`: the OR left PostgreSQL no index to
    # enter by, and it joined every deployed commit per pull request (20 minutes at scale 1).
    merge_shipped = exists().where(
        Commit.repository_id == PullRequest.repository_id,
        Commit.sha == PullRequest.merge_commit_sha,
        DeploymentCommit.commit_id == Commit.id,
    )
    listed_shipped = exists().where(
        PullRequestCommit.pull_request_id == PullRequest.id,
        Commit.repository_id == PullRequest.repository_id,
        Commit.sha == PullRequestCommit.sha,
        DeploymentCommit.commit_id == Commit.id,
    )
    # Two NOT EXISTS, not NOT (one OR the other): PostgreSQL turns each into an anti join,
    # where the negated OR stayed two index probes per pull request.
    condition = and_(
        _in_scope(PullRequest.repository_id, ids),
        PullRequest.merged_at.is_not(None),
        ~merge_shipped,
        ~listed_shipped,
    )
    # The count as a window aggregate of the examples' statement: one walk, not two; the
    # pull requests found on their own first (see `_commit_finding`).
    found = (
        select(
            PullRequest.repository_id,
            PullRequest.number,
            PullRequest.merged_at,
            PullRequest.title,
        )
        .where(condition)
        .cte("undeployed")
        .prefix_with("MATERIALIZED")
    )
    rows = session.execute(
        select(
            Repository.name, found.c.number, found.c.merged_at, found.c.title, func.count().over()
        )
        .join(Repository, Repository.id == found.c.repository_id)
        .order_by(found.c.merged_at, found.c.number)
        .limit(EXAMPLES)
    ).all()
    examples = [
        {"repo": repo, "number": number, "date": _time(merged), "title": title}
        for repo, number, merged, title, _ in rows
    ]
    count = rows[0][4] if rows else 0
    reason = "merged pull requests of which no deployment contains the merge commit or any commit"
    return _finding(
        "undeployed_pull_requests", "pull requests not yet deployed", reason, int(count), examples
    )


# Deployments


def _deployment_examples(session: Session, condition: ColumnElement[bool]) -> list[Any]:
    """The oldest deployments matching `condition`, with whether their sha is a stored commit."""
    stored = (Commit.id.is_not(None)).label("stored")
    rows = session.execute(
        select(Deployment, Repository.name, stored)
        .outerjoin(Repository, Repository.id == Deployment.repository_id)
        .outerjoin(Commit, _commit_of_deployment_on())
        .where(condition)
        .order_by(Deployment.finished_at, Deployment.id)
        .limit(EXAMPLES)
    )
    return [
        {
            "repo": repo,
            "environment": deployment.environment,
            "sha": deployment.sha,
            "ref": deployment.ref_name,
            "date": _time(deployment.finished_at),
            "source": deployment.source,
            "reason": _deployment_reason(bool(known)),
        }
        for deployment, repo, known in rows
    ]


def _commit_of_deployment_on() -> ColumnElement[bool]:
    return and_(Commit.repository_id == Deployment.repository_id, Commit.sha == Deployment.sha)


def _deployment_reason(known: bool) -> str:
    if known:
        return "redeploy: its commits were already shipped by an earlier deployment"
    return "commit unknown: its sha is not among the stored commits"


def _deployments_without_commits(session: Session, ids: RepositoryIds) -> Finding:
    linked = exists().where(DeploymentCommit.deployment_id == Deployment.id)
    condition = and_(
        _in_scope(Deployment.repository_id, ids),
        Deployment.status == "success",
        Deployment.finished_at.is_not(None),
        ~linked,
    )
    kind = case((Commit.id.is_(None), "commit_unknown"), else_="redeploy")
    rows = session.execute(
        select(kind, func.count(Deployment.id))
        .select_from(Deployment)
        .outerjoin(Commit, _commit_of_deployment_on())
        .where(condition)
        .group_by(kind)
    ).all()
    by_reason = {"redeploy": 0, "commit_unknown": 0} | {str(k): int(n) for k, n in rows}
    reason = "successful deployments that shipped no new commit; they count, with no lead time"
    finding = _finding(
        "deployments_without_commits",
        "deployments without commits",
        reason,
        sum(by_reason.values()),
        _deployment_examples(session, condition),
    )
    finding["by_reason"] = by_reason
    return finding


def _deployments_with_unknown_sha(session: Session, ids: RepositoryIds) -> Finding:
    condition = and_(_in_scope(Deployment.repository_id, ids), Commit.id.is_(None))
    count = session.scalar(
        select(func.count(Deployment.id))
        .select_from(Deployment)
        .outerjoin(Commit, _commit_of_deployment_on())
        .where(condition)
    )
    reason = (
        "deployments (any status) whose sha is not a stored commit of their repository: "
        "sync the repository, or it deployed from elsewhere"
    )
    return _finding(
        "deployments_with_unknown_sha",
        "deployments with an unknown sha",
        reason,
        int(count or 0),
        _deployment_examples(session, condition),
    )


# Incidents


def _unattributed_incidents(
    session: Session, ids: RepositoryIds, pattern: re.Pattern[str], hours: float
) -> Finding:
    """Incidents the attribution rules of `diogen.metrics.incidents` give to no deployment."""
    incidents = load_incidents(session, _in_scope(Incident.repository_id, ids))
    missing = [a for a in attribute(session, incidents, pattern, hours) if a.deployment_id is None]
    examples = [
        {
            "id": a.incident.id,
            "date": _time(a.incident.started_at),
            "title": a.incident.title,
            "why": a.reason,
        }
        for a in missing[:EXAMPLES]
    ]
    reason = "incidents linked to no deployment: they count toward no change failure"
    return _finding(
        "unattributed_incidents", "incidents unattributed", reason, len(missing), examples
    )


# People


def _identities_not_merged(session: Session, ids: RepositoryIds) -> Finding:
    """People with the same display name (case-insensitively) kept as different persons."""
    authors = select(Identity.person_id).join(Commit, Commit.author_identity_id == Identity.id)
    in_scope = (
        true() if ids is None else Person.id.in_(authors.where(Commit.repository_id.in_(ids)))
    )
    rows = session.execute(
        select(Person.display_name, Person.id, Person.primary_email)
        .where(in_scope, Person.display_name.is_not(None), Person.is_bot.is_(False))
        .order_by(Person.id)
    )
    suggestions = _same_name_groups(rows)
    reason = (
        "people with the same name and different emails kept apart: merge them "
        "(.mailmap, or an identity assignment) if they are one person"
    )
    return _finding(
        "identities_not_merged",
        "identities not merged",
        reason,
        len(suggestions),
        suggestions[:EXAMPLES],
    )


def _same_name_groups(rows: Any) -> list[dict[str, Any]]:
    """(name, person id, email) rows → the names shared by several persons, with each person."""
    # Grouped here, not in SQL: casefold is Unicode-aware, SQLite's lower() is ASCII-only.
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, pid, email in rows:
        groups[" ".join(str(name).split()).casefold()].append(
            {"name": name, "person_id": pid, "email": email}
        )
    return [
        {"name": people[0]["name"], "people": sorted(people, key=lambda p: p["email"] or "")}
        for _, people in sorted(groups.items())
        if len(people) > 1
    ]


# Release tags


def _release_tags_without_deployment(
    session: Session, ids: RepositoryIds, pattern: re.Pattern[str]
) -> Finding:
    deployed = session.execute(
        select(Deployment.repository_id, Deployment.ref_name, Deployment.sha).where(
            _in_scope(Deployment.repository_id, ids), Deployment.source == TAG_SOURCE
        )
    ).all()
    names = {(repo, ref) for repo, ref, _ in deployed}
    by_sha = {(repo, sha): ref for repo, ref, sha in deployed}
    missing = [
        _tag_example(tag, by_sha.get((tag.repository_id, tag.commit_sha)))
        for tag in _release_tags(session, ids, pattern)
        if (tag.repository_id, tag.name) not in names
    ]
    missing.sort(key=lambda tag: (tag["date"] is None, tag["date"] or "", tag["ref"]))
    reason = "release tags that are no deployment of their own (see each tag's reason)"
    return _finding(
        "release_tags_without_deployment",
        "release tags without deployment",
        reason,
        len(missing),
        missing[:EXAMPLES],
    )


def _release_tags(session: Session, ids: RepositoryIds, pattern: re.Pattern[str]) -> list[Any]:
    rows = session.execute(
        select(
            GitRef.repository_id,
            Repository.name.label("repo"),
            GitRef.name,
            GitRef.commit_sha,
            func.coalesce(GitRef.tagged_at, Commit.committed_at).label("when"),
        )
        .join(Repository, Repository.id == GitRef.repository_id)
        .outerjoin(
            Commit,
            (Commit.repository_id == GitRef.repository_id) & (Commit.sha == GitRef.commit_sha),
        )
        .where(_in_scope(GitRef.repository_id, ids), GitRef.kind == "tag")
    ).all()
    return [row for row in rows if pattern.search(row.name)]


def _tag_example(tag: Any, released_as: str | None) -> dict[str, Any]:
    if released_as is not None:
        why = f"same commit as release {released_as}: one release, at the earliest tag's time"
    elif tag.when is None:
        why = "tag time unknown: a lightweight tag on a commit that is not stored"
    else:
        why = "no deployment yet: sync the repository again"
    return {
        "repo": tag.repo,
        "ref": tag.name,
        "sha": tag.commit_sha,
        "date": _time(tag.when),
        "reason": why,
    }

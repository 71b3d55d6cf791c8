"""Which deployment caused each incident (DESIGN.md §5, change failure rate).

Rules, first match wins:
1. an explicit link: the incident's `deployment_id`; else a commit sha (`evidence["sha"]`)
   or a pull request id (`evidence["pull_request_id"]`) in the incident, attributed to the
   first successful production deployment that shipped it (for a sha, one in the incident's
   own repository first: forks share shas with upstream);
2. otherwise the latest successful production deployment of the incident's service (or of its
   repository when it names no service) that finished before the incident started, no more
   than the attribution window (default 72 h) before;
3. otherwise unattributed, with the reason.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from diogen.metrics.gold import matching
from diogen.metrics.queries import SUCCESS, id_list
from diogen.silver import Commit, Deployment, DeploymentCommit, Incident

DEFAULT_ATTRIBUTION_HOURS = 72.0

EXPLICIT_DEPLOYMENT = "explicit_deployment"
EXPLICIT_SHA = "explicit_sha"
EXPLICIT_PULL_REQUEST = "explicit_pull_request"
LATEST_DEPLOYMENT = "latest_deployment"


@dataclass(frozen=True)
class IncidentRecord:
    id: str
    title: str | None
    service_id: str | None
    repository_id: str | None
    deployment_id: str | None
    started_at: datetime
    resolved_at: datetime | None
    evidence: dict[str, Any] | None

    def linked(self, key: str) -> str | None:
        if not self.evidence:  # most incidents link nothing
            return None
        value = self.evidence.get(key)
        return str(value) if isinstance(value, str | int) and str(value) else None

    @property
    def restore_hours(self) -> float | None:
        if self.resolved_at is None or self.resolved_at < self.started_at:
            return None
        return (self.resolved_at - self.started_at).total_seconds() / 3600


@dataclass(frozen=True)
class Attribution:
    incident: IncidentRecord
    deployment_id: str | None
    rule: str | None
    reason: str | None = None


def load_incidents(session: Session, *conditions: ColumnElement[bool]) -> list[IncidentRecord]:
    query = select(
        Incident.id,
        Incident.title,
        Incident.service_id,
        Incident.repository_id,
        Incident.deployment_id,
        Incident.started_at,
        Incident.resolved_at,
        Incident.evidence,
    ).where(or_(*conditions) if conditions else Incident.id.is_not(None))
    rows = session.execute(query.order_by(Incident.started_at, Incident.id))
    return [IncidentRecord(*row) for row in rows]


def _first_shipping(
    session: Session, keys: Select[Any], pattern: re.Pattern[str]
) -> dict[str, str]:
    """The first successful production deployment per key (the first column of `keys`)."""
    rows = session.execute(
        keys.add_columns(Deployment.id, Deployment.finished_at, Deployment.environment)
        .where(Deployment.status == SUCCESS, Deployment.finished_at.is_not(None))
        .order_by(Deployment.finished_at.desc(), Deployment.id.desc())
    )
    # Newest first, so the last write per key is its first deployment.
    return {k: dep for k, dep, _at, env in rows if pattern.search(env)}


def _by_sha(
    session: Session, shas: set[str], pattern: re.Pattern[str]
) -> dict[tuple[str, str | None], str]:
    """The first production deployment shipping each sha, per (sha, repository), and per
    (sha, None) over every repository: a fork's commits have the same shas as upstream's."""
    if not shas:
        return {}
    rows = session.execute(
        select(Commit.sha, Commit.repository_id, Deployment.id, Deployment.environment)
        .join(DeploymentCommit, DeploymentCommit.commit_id == Commit.id)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .where(Commit.sha.in_(shas), Deployment.status == SUCCESS)
        .where(Deployment.finished_at.is_not(None))
        .order_by(Deployment.finished_at.desc(), Deployment.id.desc())
    )
    # Newest first, so the last write per key is its first deployment.
    found: dict[tuple[str, str | None], str] = {}
    for sha, repository_id, deployment_id, environment in rows:
        if pattern.search(environment):
            found[sha, repository_id] = found[sha, None] = deployment_id
    return found


def _by_pull_request(session: Session, ids: set[str], pattern: re.Pattern[str]) -> dict[str, str]:
    if not ids:
        return {}
    pr_commits = matching(session, pull_requests=ids).subquery()
    query = (
        select(pr_commits.c.pull_request_id)
        .join(DeploymentCommit, DeploymentCommit.commit_id == pr_commits.c.commit_id)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
    )
    return _first_shipping(session, query, pattern)


def _latest_before_each(
    session: Session, incidents: Sequence[IncidentRecord], pattern: re.Pattern[str]
) -> dict[str, tuple[str, datetime]]:
    """Per incident id: the latest successful production deployment of its service (of its
    repository when it names no service) that finished when it started or before, and when.

    Asked per incident in SQL, by index, newest first: reading every deployment of the
    incidents' streams over their span (a year of deployments for a year of incidents) and
    searching them in Python cost ten times more.
    """
    by_service = [i.id for i in incidents if i.service_id]
    by_repository = [i.id for i in incidents if i.repository_id and not i.service_id]
    if not (by_service or by_repository):
        return {}
    names = session.scalars(select(Deployment.environment).distinct())
    environments = sorted(name for name in names if pattern.search(name))
    found: dict[str, tuple[str, datetime]] = {}
    if by_service and environments:
        stream = Deployment.service_id == Incident.service_id
        found.update(_latest_in_stream(session, by_service, stream, environments))
    # A repository's index (repository, environment, finished_at) is in time order within one
    # environment only: asked per environment, each walk stops at its first match, where
    # several at once read and sorted every earlier deployment per incident.
    stream = Deployment.repository_id == Incident.repository_id
    for environment in environments if by_repository else []:
        for incident, (deployment, at) in _latest_in_stream(
            session, by_repository, stream, [environment]
        ).items():
            kept = found.get(incident)
            if kept is None or (at, deployment) > (kept[1], kept[0]):
                found[incident] = (deployment, at)
    return found


def _latest_in_stream(
    session: Session, ids: list[str], stream: ColumnElement[bool], environments: list[str]
) -> dict[str, tuple[str, datetime]]:
    latest = (
        select(Deployment.id)
        .where(
            stream,
            Deployment.status == SUCCESS,
            Deployment.environment.in_(environments),
            Deployment.finished_at <= Incident.started_at,
        )
        .order_by(Deployment.finished_at.desc(), Deployment.id.desc())
        .limit(1)
        .correlate(Incident)
        .scalar_subquery()
    )
    query = select(Incident.id, latest).where(Incident.id.in_(id_list(session, ids)))
    found = {incident: deployment for incident, deployment in session.execute(query) if deployment}
    # Their finish times by id, apart: joined to the subquery's answer, PostgreSQL hashed
    # every deployment of the history to look up a few thousand.
    finished = select(Deployment.id, Deployment.finished_at).where(
        Deployment.id.in_(id_list(session, set(found.values())))
    )
    at = {deployment: moment for deployment, moment in session.execute(finished) if moment}
    return {
        incident: (deployment, at[deployment])
        for incident, deployment in found.items()
        if deployment in at
    }


def _latest_before(
    incident: IncidentRecord, latest: dict[str, tuple[str, datetime]], window: timedelta
) -> Attribution:
    if incident.service_id:
        named = "its service"
    elif incident.repository_id:
        named = "its repository"
    else:
        reason = "names no deployment, commit, pull request, service or repository"
        return Attribution(incident, None, None, reason)
    found = latest.get(incident.id)
    if found is not None and incident.started_at - found[1] <= window:
        return Attribution(incident, found[0], LATEST_DEPLOYMENT)
    hours = window.total_seconds() / 3600
    reason = f"no successful production deployment of {named} in the {hours:g} h before it"
    return Attribution(incident, None, None, reason)


def attribute(
    session: Session,
    incidents: Sequence[IncidentRecord],
    pattern: re.Pattern[str],
    window_hours: float = DEFAULT_ATTRIBUTION_HOURS,
) -> list[Attribution]:
    """An attribution (or the reason there is none) for each incident, in a handful of queries."""
    window = timedelta(hours=window_hours)
    by_sha = _by_sha(session, {s for i in incidents if (s := i.linked("sha"))}, pattern)
    pr_ids = {p for i in incidents if (p := i.linked("pull_request_id"))}
    by_pr = _by_pull_request(session, pr_ids, pattern)
    explicit = [_explicit(i, by_sha, by_pr) for i in incidents]
    unlinked = [i for i, found in zip(incidents, explicit, strict=True) if found is None]
    latest = _latest_before_each(session, unlinked, pattern)
    return [
        found or _latest_before(i, latest, window)
        for i, found in zip(incidents, explicit, strict=True)
    ]


def _explicit(
    incident: IncidentRecord, by_sha: dict[tuple[str, str | None], str], by_pr: dict[str, str]
) -> Attribution | None:
    if incident.deployment_id:
        return Attribution(incident, incident.deployment_id, EXPLICIT_DEPLOYMENT)
    sha, pr = incident.linked("sha"), incident.linked("pull_request_id")
    # A commit of the incident's own repository first: a fork's commits carry upstream's shas.
    shipped = (
        (by_sha.get((sha, incident.repository_id)) or by_sha.get((sha, None))) if sha else None
    )
    if shipped is not None:
        return Attribution(incident, shipped, EXPLICIT_SHA)
    if pr and pr in by_pr:
        return Attribution(incident, by_pr[pr], EXPLICIT_PULL_REQUEST)
    return None


def attributed_to(attributions: Iterable[Attribution]) -> dict[str, list[Attribution]]:
    found: dict[str, list[Attribution]] = defaultdict(list)
    for attribution in attributions:
        if attribution.deployment_id is not None:
            found[attribution.deployment_id].append(attribution)
    return found

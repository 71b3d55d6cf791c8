"""Generic events pushed to Diogen (`POST /api/v1/ingest/{source}`, `diogen ingest`).

Any tool that knows of a deployment or an incident (a CI script, a deploy tool, an incident
bot) can send it as JSON; see docs/ingest.md for the format. Every event is kept in bronze as
received, then validated and upserted into silver. An event that fails validation, or names a
repository or deployment Diogen does not know, is quarantined with its reason and the others
still go in. Events are idempotent: sending the same one twice changes nothing.

A sender may be limited to some organisations (an organisation's maintainer or its API key):
then its events may only name, create and update repositories, services, deployments and
incidents of those organisations; anything else is rejected as unknown, so that one
organisation can neither see nor change another's rows through a shared source name.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, SQLColumnExpression, func, select, true
from sqlalchemy.orm import Session

from diogen.connectors.base import RawItem
from diogen.db import upsert
from diogen.errors import InputError, RejectedRecord
from diogen.ids import stable_id
from diogen.ingest import bronze
from diogen.ingest.event_schema import EVENT, MAX_EVENTS, DeploymentEvent, IncidentEvent
from diogen.metrics.gold import refresh_gold
from diogen.silver import Commit, Deployment, Incident, PullRequest, Repository, Service
from diogen.silver.base import table_of
from diogen.silver.deployments import link_deployed_commits


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


def ingest_events(
    session: Session,
    source: str,
    events: Sequence[Any],
    now: datetime,
    organizations: Collection[str] | None = None,
) -> IngestResult:
    """Store `events` (JSON values) from `source`, for a sender limited to `organizations`
    (None: every organisation); flushes, never commits."""
    if not 0 < len(events) <= MAX_EVENTS:
        raise InputError(
            f"send between 1 and {MAX_EVENTS} events at a time, not {len(events)}",
            count=len(events),
        )
    origin = f"ingest:{_source_name(source)}"
    scope = _Scope(session, origin, None if organizations is None else frozenset(organizations))
    items = [_raw_item(value, index) for index, value in enumerate(events)]
    bronze.write_raw(session, [bronze.raw_row(origin, item, now) for item in items])
    result, touched, rejected = IngestResult(), set(), []
    for index, (value, item) in enumerate(zip(events, items, strict=True)):
        try:
            touched |= _store(scope, _validated(value))
        except RejectedRecord as exc:
            rejected.append(bronze.quarantine_row(origin, item, str(exc), now))
            result.rejected.append({"index": index, "id": item.natural_key, "error": str(exc)})
        else:
            result.accepted += 1
    bronze.write_quarantine(session, rejected)
    for repository_id in sorted(touched):
        link_deployed_commits(session, repository_id)
    refresh_gold(session, touched)
    return result


@dataclass(frozen=True)
class _Scope:
    """Where one call's events may reach: its session, its source, its organisations."""

    session: Session
    origin: str
    organizations: frozenset[str] | None

    def allows(self, column: SQLColumnExpression[str | None]) -> ColumnElement[bool]:
        if self.organizations is None:
            return true()
        return column.in_(sorted(self.organizations))

    def owns(self, model: type[Deployment] | type[Incident], row_id: str) -> bool | None:
        """Whether the stored row `row_id` is in the sender's organisations (None: no such
        row). A row's organisation is its repository's, else its service's."""
        organization = func.coalesce(Repository.organization_id, Service.organization_id)
        found = self.session.execute(
            select(organization)
            .select_from(model)
            .outerjoin(Repository, Repository.id == model.repository_id)
            .outerjoin(Service, Service.id == model.service_id)
            .where(model.id == row_id)
        ).first()
        if found is None:
            return None
        return self.organizations is None or found[0] in self.organizations


def _source_name(source: str) -> str:
    if not source or len(source) > 100 or not source.replace("-", "").replace("_", "").isalnum():
        raise InputError(
            f"source name {source!r} must be 1-100 letters, digits, '-' or '_'", source=source
        )
    return source


def _raw_item(value: Any, index: int) -> RawItem:
    payload = value if isinstance(value, dict) else {"value": value}
    kind = payload.get("type")
    key = payload.get("id")
    stream = kind if kind in ("deployment", "incident") else "unknown"
    natural_key = str(key)[:1000] if isinstance(key, str | int) else f"#{index}"
    return RawItem(stream=stream, natural_key=natural_key, payload=payload)


def _validated(value: Any) -> DeploymentEvent | IncidentEvent:
    try:
        return EVENT.validate_python(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'event'}: {error['msg']}"
            for error in exc.errors()
        )
        raise RejectedRecord(f"invalid event: {problems}") from exc


def _store(scope: _Scope, event: DeploymentEvent | IncidentEvent) -> set[str]:
    """Upsert one event; every reference is checked before anything is written."""
    session, origin = scope.session, scope.origin
    repository = _repository(scope, event.repository, getattr(event, "sha", None))
    repository_id = repository.id if repository else None
    service_id = _service_id(scope, event, repository)
    if isinstance(event, DeploymentEvent):
        _check_not_foreign(scope, Deployment, "deployment", event.id)
        fixes = _existing_deployment(scope, event.fixes, "fixed") if event.fixes else None
        row = _deployment_row(origin, event, repository_id, fixes)
        row["service_id"] = service_id
        # Without a verdict in the event, one given since (through the API) is kept.
        keep = {"id"} if event.failed is not None else {"id", "marked_failed"}
        upsert(session, table_of(Deployment), [row], update=[c for c in row if c not in keep])
        return {repository_id} if repository_id else set()
    _check_not_foreign(scope, Incident, "incident", event.id)
    row = _incident_row(scope, event, repository_id)
    upsert(session, table_of(Incident), [{**row, "service_id": service_id}])
    return set()


def _repository(scope: _Scope, name: str | None, sha: str | None) -> Repository | None:
    """The repository called `name`; known through several providers, the one with `sha`."""
    if name is None:
        return None
    found = scope.session.scalars(
        select(Repository)
        .where(Repository.name == name, scope.allows(Repository.organization_id))
        .order_by(Repository.id)
    ).all()
    if not found:
        raise RejectedRecord(f"unknown repository {name!r}: sync it before sending its events")
    if len(found) > 1 and sha:
        with_sha = set(
            scope.session.scalars(
                select(Commit.repository_id).where(
                    Commit.repository_id.in_([r.id for r in found]), Commit.sha == sha
                )
            )
        )
        found = [r for r in found if r.id in with_sha] or found
    return found[0]


def _service_id(
    scope: _Scope, event: DeploymentEvent | IncidentEvent, repository: Repository | None
) -> str | None:
    name = event.service
    if name is None:
        if repository is None and scope.organizations is not None:
            raise RejectedRecord("name the event's repository or service: it has no organisation")
        return None
    found = scope.session.scalar(
        select(Service.id)
        .where(Service.name == name, scope.allows(Service.organization_id))
        .order_by(Service.id)
    )
    if found is not None:
        return found
    return _new_service(scope, name, repository)


def _new_service(scope: _Scope, name: str, repository: Repository | None) -> str:
    """A service first named by an event; a limited sender's goes to its organisation."""
    if scope.organizations is None:
        service_id = stable_id("ingest", "service", name)
        row = {"id": service_id, "name": name, "source": "ingest", "external_id": name}
    else:
        organization = repository.organization_id if repository else None
        if organization is None and len(scope.organizations) == 1:
            (organization,) = scope.organizations
        if organization is None:
            raise RejectedRecord(
                f"unknown service {name!r}: name the event's repository, whose organisation "
                "the new service joins"
            )
        service_id = stable_id("ingest", "service", organization, name)
        row = {
            "id": service_id,
            "organization_id": organization,
            "name": name,
            "source": "ingest",
            "external_id": name,
        }
    upsert(scope.session, table_of(Service), [row], update=())
    return service_id


def _check_not_foreign(
    scope: _Scope, model: type[Deployment] | type[Incident], kind: str, external_id: str
) -> None:
    if scope.owns(model, stable_id(scope.origin, kind, external_id)) is False:
        raise RejectedRecord(
            f"{kind} {external_id!r} of this source belongs to another organisation: "
            "send your events under a source name of your own"
        )


def _existing_deployment(scope: _Scope, external_id: str, role: str) -> str:
    deployment_id = stable_id(scope.origin, "deployment", external_id)
    if not scope.owns(Deployment, deployment_id):
        raise RejectedRecord(f"unknown {role} deployment {external_id!r} from this source")
    return deployment_id


def _deployment_row(
    origin: str, event: DeploymentEvent, repository_id: str | None, fixes: str | None
) -> dict[str, Any]:
    return {
        "id": stable_id(origin, "deployment", event.id),
        "source": origin,
        "external_id": event.id,
        "url": event.url,
        "repository_id": repository_id,
        "environment": event.environment,
        "sha": event.sha.lower(),
        "ref_name": event.ref,
        "status": event.status,
        "started_at": event.started_at,
        "finished_at": event.finished_at,
        "is_rollback": event.is_rollback,
        "fixes_deployment_id": fixes,
        "marked_failed": event.failed,
    }


def _incident_row(scope: _Scope, event: IncidentEvent, repository_id: str | None) -> dict[str, Any]:
    session, origin = scope.session, scope.origin
    deployment_id = (
        _existing_deployment(scope, event.deployment, "linked") if event.deployment else None
    )
    evidence: dict[str, Any] = {}
    if event.sha:
        evidence["sha"] = event.sha.lower()
    if event.pull_request is not None:
        evidence["pull_request_id"] = _pull_request_id(session, repository_id, event.pull_request)
    return {
        "id": stable_id(origin, "incident", event.id),
        "source": origin,
        "external_id": event.id,
        "url": event.url,
        "title": event.title,
        "severity": event.severity,
        "status": event.status,
        "repository_id": repository_id,
        "deployment_id": deployment_id,
        "started_at": event.started_at,
        "detected_at": event.detected_at,
        "resolved_at": event.resolved_at,
        "evidence": evidence or None,
    }


def _pull_request_id(session: Session, repository_id: str | None, number: int) -> str:
    if repository_id is None:
        raise RejectedRecord("a pull_request needs the repository it belongs to")
    found = session.scalar(
        select(PullRequest.id).where(
            PullRequest.repository_id == repository_id, PullRequest.number == number
        )
    )
    if found is None:
        raise RejectedRecord(f"unknown pull request #{number} in that repository")
    return found

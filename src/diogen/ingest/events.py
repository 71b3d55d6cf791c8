"""Generic events pushed to Diogen (`POST /api/v1/ingest/{source}`, `diogen ingest`).

Any tool that knows of a deployment or an incident (a CI script, a deploy tool, an incident
bot) can send it as JSON; see docs/ingest.md for the format. Every event is kept in bronze as
received, then validated and upserted into silver. An event that fails validation, or names a
repository or deployment Diogen does not know, is quarantined with its reason and the others
still go in. Events are idempotent: sending the same one twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.connectors.base import RawItem
from diogen.db import upsert
from diogen.errors import InputError, RejectedRecord
from diogen.ids import stable_id
from diogen.ingest import bronze
from diogen.silver import Commit, Deployment, Incident, PullRequest, Repository, Service
from diogen.silver.base import table_of
from diogen.silver.deployments import link_deployed_commits

MAX_EVENTS = 1000
Name = Annotated[str, Field(min_length=1, max_length=255)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Name = Field(description="The event's id in the sending tool; the same id updates it.")
    repository: Name | None = Field(None, description="Repository name as Diogen knows it.")
    service: Name | None = Field(None, description="Service name; created when new.")
    url: Annotated[str, Field(max_length=2000)] | None = None


class DeploymentEvent(_Event):
    type: Literal["deployment"]
    environment: Name = "production"
    sha: Annotated[str, Field(min_length=4, max_length=64, pattern=r"^[0-9a-fA-F]+$")]
    ref: Annotated[str, Field(max_length=1000)] | None = None
    status: Literal["success", "failure", "error", "in_progress", "cancelled"] = "success"
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    is_rollback: bool = False
    fixes: Name | None = Field(None, description="Id of the deployment (same source) it fixes.")
    failed: bool | None = Field(None, description="A person's verdict: this deployment failed.")


class IncidentEvent(_Event):
    type: Literal["incident"]
    title: Annotated[str, Field(max_length=2000)] | None = None
    severity: Annotated[str, Field(max_length=50)] | None = None
    status: Annotated[str, Field(max_length=50)] | None = None
    started_at: AwareDatetime
    detected_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    deployment: Name | None = Field(None, description="Id of the deployment (same source).")
    sha: Annotated[str, Field(min_length=4, max_length=64)] | None = None
    pull_request: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Number of the pull request (in `repository`) that caused it."
    )


Event = Annotated[DeploymentEvent | IncidentEvent, Field(discriminator="type")]
EVENT = TypeAdapter(Event)


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


def ingest_events(
    session: Session, source: str, events: Sequence[Any], now: datetime
) -> IngestResult:
    """Store `events` (JSON values) from `source`; flushes, never commits."""
    if not 0 < len(events) <= MAX_EVENTS:
        raise InputError(
            f"send between 1 and {MAX_EVENTS} events at a time, not {len(events)}",
            count=len(events),
        )
    origin = f"ingest:{_source_name(source)}"
    items = [_raw_item(value, index) for index, value in enumerate(events)]
    bronze.write_raw(session, [bronze.raw_row(origin, item, now) for item in items])
    result, touched, rejected = IngestResult(), set(), []
    for index, (value, item) in enumerate(zip(events, items, strict=True)):
        try:
            touched |= _store(session, origin, _validated(value))
        except RejectedRecord as exc:
            rejected.append(bronze.quarantine_row(origin, item, str(exc), now))
            result.rejected.append({"index": index, "id": item.natural_key, "error": str(exc)})
        else:
            result.accepted += 1
    bronze.write_quarantine(session, rejected)
    for repository_id in sorted(touched):
        link_deployed_commits(session, repository_id)
    return result


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


def _store(session: Session, origin: str, event: DeploymentEvent | IncidentEvent) -> set[str]:
    """Upsert one event; every reference is checked before anything is written."""
    repository_id = _repository_id(session, event.repository, getattr(event, "sha", None))
    if isinstance(event, DeploymentEvent):
        fixes = _existing_deployment(session, origin, event.fixes, "fixed") if event.fixes else None
        row = _deployment_row(origin, event, repository_id, fixes)
        row["service_id"] = _service_id(session, event)
        # Without a verdict in the event, one given since (through the API) is kept.
        keep = {"id"} if event.failed is not None else {"id", "marked_failed"}
        upsert(session, table_of(Deployment), [row], update=[c for c in row if c not in keep])
        return {repository_id} if repository_id else set()
    row = _incident_row(session, origin, event, repository_id)
    upsert(session, table_of(Incident), [{**row, "service_id": _service_id(session, event)}])
    return set()


def _repository_id(session: Session, name: str | None, sha: str | None) -> str | None:
    """The repository called `name`; known through several providers, the one with `sha`."""
    if name is None:
        return None
    ids = sorted(session.scalars(select(Repository.id).where(Repository.name == name)))
    if not ids:
        raise RejectedRecord(f"unknown repository {name!r}: sync it before sending its events")
    if len(ids) > 1 and sha:
        with_sha = select(Commit.repository_id).where(
            Commit.repository_id.in_(ids), Commit.sha == sha
        )
        ids = sorted(session.scalars(with_sha)) or ids
    return ids[0]


def _service_id(session: Session, event: DeploymentEvent | IncidentEvent) -> str | None:
    name = event.service
    if name is None:
        return None
    found = session.scalar(select(Service.id).where(Service.name == name).order_by(Service.id))
    if found is not None:
        return found
    service_id = stable_id("ingest", "service", name)
    row = {"id": service_id, "name": name, "source": "ingest", "external_id": name}
    upsert(session, table_of(Service), [row], update=())
    return service_id


def _existing_deployment(session: Session, origin: str, external_id: str, role: str) -> str:
    deployment_id = stable_id(origin, "deployment", external_id)
    if session.get(Deployment, deployment_id) is None:
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


def _incident_row(
    session: Session, origin: str, event: IncidentEvent, repository_id: str | None
) -> dict[str, Any]:
    deployment_id = (
        _existing_deployment(session, origin, event.deployment, "linked")
        if event.deployment
        else None
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

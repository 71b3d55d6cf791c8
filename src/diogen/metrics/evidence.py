"""The rows behind a report (`explain`): what was counted, and every exclusion with its reason."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from diogen.metrics.changes import COMMIT, PULL_REQUEST, Change, ExcludedChange
from diogen.metrics.data import DoraData
from diogen.metrics.deployments import ExcludedDeployment
from diogen.metrics.failures import Signal, Verdict
from diogen.metrics.incidents import Attribution
from diogen.metrics.stats import HOURS_DIGITS, rounded
from diogen.metrics.window import isoformat_z


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else isoformat_z(moment)


def _signal(signal: Signal) -> dict[str, Any]:
    return {
        "kind": signal.kind,
        "id": signal.id,
        "at": _time(signal.at),
        "inferred": signal.inferred,
        "rule": signal.rule,
    }


def _deployment(verdict: Verdict, data: DoraData, changes: Counter[str]) -> dict[str, Any]:
    record = verdict.deployment
    return {
        "id": record.id,
        "repo": data.repositories.get(record.repository_id or ""),
        "environment": record.environment,
        "sha": record.sha,
        "ref": record.ref_name,
        "source": record.source,
        "finished_at": _time(record.finished_at),
        "changes": changes[record.id],
        "failed": verdict.failed,
        "marked_failed": record.marked_failed,
        "failure_signals": [_signal(signal) for signal in verdict.signals],
        "recovered_by": None if verdict.recovered_by is None else _signal(verdict.recovered_by),
        "recovery_hours": rounded(verdict.recovery_hours, HOURS_DIGITS),
        "rework": verdict.rework,
    }


def _stages(change: Change) -> dict[str, float | None] | None:
    if change.stages is None:
        return None
    stages = change.stages
    return {
        "coding_hours": round(stages.coding, HOURS_DIGITS),
        "pickup_hours": rounded(stages.pickup, HOURS_DIGITS),
        "review_hours": round(stages.review, HOURS_DIGITS),
        "deploy_hours": round(stages.deploy, HOURS_DIGITS),
    }


def _change_facts(change: Change, data: DoraData) -> dict[str, Any]:
    facts: dict[str, Any] = {"kind": change.kind}
    if change.kind == COMMIT:
        facts["sha"] = change.label
    else:
        facts["pull_request"] = change.label
        facts["pull_request_id"] = change.key
        facts["commits"] = list(change.commits)
    return {
        **facts,
        "repo": data.repositories.get(change.repository_id),
        "deployment_id": change.deployment_id,
        "authored_at": _time(change.first_commit_at),
        "deployed_at": isoformat_z(change.deployed_at),
    }


def _change(change: Change, data: DoraData) -> dict[str, Any]:
    row = {**_change_facts(change, data), "lead_time_hours": round(change.hours, HOURS_DIGITS)}
    if change.kind == PULL_REQUEST:
        row["stages"] = _stages(change)
    return row


def _excluded_deployment(item: ExcludedDeployment, data: DoraData) -> dict[str, Any]:
    record = item.record
    return {
        "kind": "deployment",
        "id": record.id,
        "repo": data.repositories.get(record.repository_id or ""),
        "environment": record.environment,
        "status": record.status,
        "sha": record.sha,
        "ref": record.ref_name,
        "finished_at": _time(record.finished_at),
        "reason": item.reason,
        "detail": item.detail,
    }


def _excluded_change(item: ExcludedChange, data: DoraData) -> dict[str, Any]:
    facts = _change_facts(item.change, data)
    # "kind" says which row this is; the change's own kind goes under "change".
    return {
        **facts,
        "kind": "change",
        "change": facts["kind"],
        "reason": item.reason,
        "detail": item.detail,
    }


def _incident(attribution: Attribution) -> dict[str, Any]:
    incident = attribution.incident
    return {
        "id": incident.id,
        "title": incident.title,
        "started_at": isoformat_z(incident.started_at),
        "resolved_at": _time(incident.resolved_at),
        "restore_hours": rounded(incident.restore_hours, HOURS_DIGITS),
        "deployment_id": attribution.deployment_id,
        "attributed_by": attribution.rule,
        "reason": attribution.reason,
    }


def evidence(data: DoraData) -> dict[str, Any]:
    """Counted deployments and changes, then exclusions: deployments first, oldest first."""
    per_deployment = Counter(change.deployment_id for change in data.changes)
    verdicts = [data.verdicts[record.id] for record in data.counted]
    return {
        "production_environments": list(data.environments),
        "deployments": [_deployment(v, data, per_deployment) for v in verdicts],
        "changes": [_change(change, data) for change in data.changes],
        "incidents": [_incident(attribution) for attribution in data.incidents],
        "excluded": [_excluded_deployment(item, data) for item in data.excluded]
        + [_excluded_change(item, data) for item in data.excluded_changes],
    }

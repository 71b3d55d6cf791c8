"""The rows behind a report (`explain`): what was counted, and every exclusion with its reason."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from diogen.metrics.changes import CountedChange, ExcludedChange
from diogen.metrics.data import DoraData
from diogen.metrics.deployments import ExcludedDeployment
from diogen.metrics.failures import Signal, Verdict
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


def _change(change: CountedChange, data: DoraData) -> dict[str, Any]:
    record = change.record
    return {
        "sha": record.sha,
        "repo": data.repositories.get(record.repository_id),
        "deployment_id": record.deployment_id,
        "authored_at": isoformat_z(record.authored_at),
        "deployed_at": isoformat_z(change.deployed_at),
        "lead_time_hours": round(change.hours, HOURS_DIGITS),
    }


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
    record = item.record
    return {
        "kind": "change",
        "sha": record.sha,
        "repo": data.repositories.get(record.repository_id),
        "deployment_id": record.deployment_id,
        "authored_at": isoformat_z(record.authored_at),
        "deployed_at": isoformat_z(item.deployed_at),
        "reason": item.reason,
        "detail": item.detail,
    }


def evidence(data: DoraData) -> dict[str, Any]:
    """Counted deployments and changes, then exclusions: deployments first, oldest first."""
    per_deployment = Counter(change.record.deployment_id for change in data.changes)
    verdicts = [data.verdicts[record.id] for record in data.counted]
    return {
        "production_environments": list(data.environments),
        "deployments": [_deployment(v, data, per_deployment) for v in verdicts],
        "changes": [_change(change, data) for change in data.changes],
        "excluded": [_excluded_deployment(item, data) for item in data.excluded]
        + [_excluded_change(item, data) for item in data.excluded_changes],
    }

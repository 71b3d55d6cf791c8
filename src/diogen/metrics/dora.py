"""The DORA report (DESIGN.md §5 and §6): the four key metrics plus rework rate, with evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from diogen.config import PRODUCTION_ENVIRONMENT_PATTERN
from diogen.metrics.buckets import bucket_rows
from diogen.metrics.changes import Stages
from diogen.metrics.data import DoraData, Rules, load
from diogen.metrics.evidence import evidence
from diogen.metrics.fixes import DEFAULT_HOTFIX_PATTERN
from diogen.metrics.frequency import deployment_frequency
from diogen.metrics.incidents import DEFAULT_ATTRIBUTION_HOURS
from diogen.metrics.scope import Scope
from diogen.metrics.stats import HOURS_DIGITS, ratio, rounded, summarize_hours
from diogen.metrics.tiers import (
    Benchmarks,
    benchmark_table,
    failure_rate_tier,
    lead_time_tier,
    recovery_tier,
)
from diogen.metrics.window import Window, check_bucket, default_window

# Defined once, in the settings; re-exported for callers of `dora_report`.
DEFAULT_PRODUCTION_ENVIRONMENT = PRODUCTION_ENVIRONMENT_PATTERN
STAGE_NAMES = ("coding", "pickup", "review", "deploy")
NO_FAILURE_DATA = (
    "no failure data: the database has no incidents and no deployment in scope is a rollback, "
    "a fix of another or marked failed; ingest incidents or mark failed deployments to "
    "measure this"
)


def _stage_summaries(staged: Sequence[Stages]) -> dict[str, Any]:
    summaries = {
        name: summarize_hours(
            [hours for stages in staged if (hours := getattr(stages, name)) is not None]
        ).to_json("pull_requests")
        for name in STAGE_NAMES
    }
    return {"pull_requests": len(staged), **summaries}


def lead_time_section(data: DoraData, table: Benchmarks) -> dict[str, Any]:
    lead_times = data.lead_times
    summary = summarize_hours(lead_times.hours)
    # Tiers judge the figure the reader sees, so a shown 24.0 h is never "less than a day".
    return {
        **summary.to_json("changes"),
        "tier": lead_time_tier(rounded(summary.median, HOURS_DIGITS), table),
        "pull_requests": lead_times.pull_requests,
        "commits": lead_times.commits,
        "stages": _stage_summaries(lead_times.stages),
    }


def failure_rate_section(data: DoraData, table: Benchmarks) -> dict[str, Any]:
    if not data.failure_data:
        return {
            "deployments": 0,
            "failed": 0,
            "rate": None,
            "tier": None,
            "reason": NO_FAILURE_DATA,
        }
    failed = sum(verdict.failed for verdict in data.verdicts.values())
    rate = ratio(failed, len(data.counted))
    return {
        "deployments": len(data.counted),
        "failed": failed,
        "rate": rate,
        "tier": failure_rate_tier(rate, table),
        "incidents": len(data.incidents),
        "unattributed_incidents": sum(a.deployment_id is None for a in data.incidents),
    }


def recovery_section(data: DoraData, table: Benchmarks) -> dict[str, Any]:
    failed = [verdict for verdict in data.verdicts.values() if verdict.failed]
    hours = [v.recovery_hours for v in failed if v.recovery_hours is not None]
    summary = summarize_hours(hours)
    figures = summary.to_json("recovered")
    restore = [a.incident.restore_hours for a in data.incidents]
    time_to_restore = summarize_hours([hours for hours in restore if hours is not None])
    return {
        "failures": len(failed),
        **figures,
        "tier": recovery_tier(rounded(summary.median, HOURS_DIGITS), table),
        # Classic MTTR beside it: every incident of the scope, start to resolution.
        "time_to_restore": {"incidents": len(restore), **time_to_restore.to_json("restored")},
    }


def rework_section(data: DoraData) -> dict[str, Any]:
    if not data.failure_data:
        return {"deployments": 0, "rework": 0, "rate": None, "reason": NO_FAILURE_DATA}
    rework = sum(verdict.rework for verdict in data.verdicts.values())
    return {
        "deployments": len(data.counted),
        "rework": rework,
        "rate": ratio(rework, len(data.counted)),
    }


def build_report(
    data: DoraData, table: Benchmarks, *, bucket: str | None = None, explain: bool = False
) -> dict[str, Any]:
    """The §6 document from loaded data; keys may be added over time, never renamed."""
    times = [d.finished_at for d in data.counted if d.finished_at is not None]
    report: dict[str, Any] = {
        "scope": data.scope.to_json(),
        "window": data.window.to_json(),
        "benchmarks": table.year,
        "deployment_frequency": deployment_frequency(times, data.window).to_json(table),
        "lead_time_for_changes": lead_time_section(data, table),
        "change_failure_rate": failure_rate_section(data, table),
        "failed_deployment_recovery_time": recovery_section(data, table),
        "rework_rate": rework_section(data),
    }
    unit = check_bucket(bucket)
    if unit is not None:
        report["buckets"] = bucket_rows(
            data.window, unit, data.verdicts, data.lead_times, failure_data=data.failure_data
        )
    if explain:
        report["evidence"] = evidence(data)
    return report


def dora_report(
    session: Session,
    scope: Scope | None = None,
    window: Window | None = None,
    *,
    bucket: str | None = None,
    benchmarks: str = "2023",
    production_environment: str = DEFAULT_PRODUCTION_ENVIRONMENT,
    incident_attribution_hours: float = DEFAULT_ATTRIBUTION_HOURS,
    hotfix_pattern: str = DEFAULT_HOTFIX_PATTERN,
    explain: bool = False,
) -> dict[str, Any]:
    """DORA metrics for `scope` (default: the organisation) over `window` (default: 90 days).

    Raises `NotFoundError` for an unknown organisation, team, repository or service, and
    `InputError` for an unknown bucket or benchmark year, a bad pattern or a negative
    attribution window, before anything is computed.
    """
    table = benchmark_table(benchmarks)
    check_bucket(bucket)
    rules = Rules(production_environment, incident_attribution_hours, hotfix_pattern)
    data = load(session, scope or Scope(), window or default_window(), rules, explain=explain)
    return build_report(data, table, bucket=bucket, explain=explain)

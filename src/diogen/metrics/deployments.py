"""Which deployments count: successful, to production, finished inside the window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from diogen.metrics.queries import SUCCESS, DeploymentRecord
from diogen.metrics.window import Window, isoformat_z

NOT_SUCCESSFUL = "not_successful"
NOT_PRODUCTION = "not_production"
NO_FINISH_TIME = "no_finish_time"
OUTSIDE_WINDOW = "outside_window"


@dataclass(frozen=True)
class ExcludedDeployment:
    record: DeploymentRecord
    reason: str
    detail: str


def exclusion(
    record: DeploymentRecord, environments: tuple[str, ...], window: Window, pattern: str
) -> tuple[str, str] | None:
    """The first reason, in a fixed order, that keeps `record` out of the report.

    Keep in step with `queries.counted_ids`, which selects the same rows in SQL for the joins.
    """
    if record.status != SUCCESS:
        return NOT_SUCCESSFUL, f"status is {record.status!r}, not {SUCCESS!r}"
    if record.environment not in environments:
        return NOT_PRODUCTION, f"environment {record.environment!r} does not match {pattern!r}"
    if record.finished_at is None:
        return NO_FINISH_TIME, "not finished: a deployment happens when it finishes"
    if not window.contains(record.finished_at):
        finished = isoformat_z(record.finished_at)
        return OUTSIDE_WINDOW, f"finished at {finished}, outside [from, to)"
    return None


def classify_deployments(
    candidates: Iterable[DeploymentRecord],
    environments: tuple[str, ...],
    window: Window,
    pattern: str,
) -> tuple[list[DeploymentRecord], list[ExcludedDeployment]]:
    counted: list[DeploymentRecord] = []
    excluded: list[ExcludedDeployment] = []
    for record in candidates:
        reason = exclusion(record, environments, window, pattern)
        if reason is None:
            counted.append(record)
        else:
            excluded.append(ExcludedDeployment(record, *reason))
    return counted, excluded

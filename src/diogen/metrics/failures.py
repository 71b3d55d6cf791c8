"""Which counted deployments failed, when they recovered, and which were rework.

A deployment failed when someone marked it failed, a later deployment is linked as fixing it
(rollback, revert, hotfix), an unlinked rollback followed it in its stream, or an incident is
explicitly attributed to it. `marked_failed` is a person's verdict and wins over every rule,
both ways. Recovery is the earliest of: a successful fixing or rollback deployment finishing,
an attributed incident being resolved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from diogen.metrics.queries import SUCCESS, DeploymentRecord, IncidentRecord

MARKED_FAILED = "marked_failed"
FIXED_BY = "fixed_by"
ROLLED_BACK_BY = "rolled_back_by"
INCIDENT = "incident"


@dataclass(frozen=True)
class Signal:
    """One reason to call a deployment failed; `at` is the recovery it offers, if any."""

    kind: str
    id: str | None
    at: datetime | None
    inferred: bool = False


@dataclass(frozen=True)
class Verdict:
    deployment: DeploymentRecord
    signals: tuple[Signal, ...]
    failed: bool
    recovered_by: Signal | None

    @property
    def recovery_hours(self) -> float | None:
        finished = self.deployment.finished_at
        if self.recovered_by is None or self.recovered_by.at is None or finished is None:
            return None
        return (self.recovered_by.at - finished).total_seconds() / 3600

    @property
    def rework(self) -> bool:
        """An unplanned fix of a production problem (rollback, revert, hotfix)."""
        return self.deployment.is_rollback or self.deployment.fixes_deployment_id is not None


def _fixer_signal(fixer: DeploymentRecord, *, inferred: bool = False) -> Signal:
    kind = ROLLED_BACK_BY if fixer.is_rollback else FIXED_BY
    # A fixing deployment that did not succeed signals the failure but restores nothing.
    at = fixer.finished_at if fixer.status == SUCCESS else None
    return Signal(kind, fixer.id, at, inferred)


def inferred_rollbacks(later: Sequence[DeploymentRecord]) -> dict[str, list[DeploymentRecord]]:
    """Rollbacks without a link roll back the deployment before them in the same stream."""
    previous: dict[tuple[str | None, str | None, str], DeploymentRecord] = {}
    targets: dict[str, list[DeploymentRecord]] = defaultdict(list)
    for record in later:  # oldest first
        before = previous.get(record.stream)
        if record.is_rollback and record.fixes_deployment_id is None and before is not None:
            targets[before.id].append(record)
        previous[record.stream] = record
    return targets


def _signals_by_deployment(
    fixers: Iterable[DeploymentRecord],
    later: Sequence[DeploymentRecord],
    incidents: Iterable[IncidentRecord],
) -> dict[str, list[Signal]]:
    signals: dict[str, list[Signal]] = defaultdict(list)
    for fixer in fixers:
        if fixer.fixes_deployment_id is not None:
            signals[fixer.fixes_deployment_id].append(_fixer_signal(fixer))
    for target, rollbacks in inferred_rollbacks(later).items():
        signals[target].extend(_fixer_signal(r, inferred=True) for r in rollbacks)
    for incident in incidents:
        signals[incident.deployment_id].append(Signal(INCIDENT, incident.id, incident.resolved_at))
    return signals


def _verdict(deployment: DeploymentRecord, found: list[Signal]) -> Verdict:
    signals = ([Signal(MARKED_FAILED, None, None)] if deployment.marked_failed else []) + found
    failed = deployment.marked_failed if deployment.marked_failed is not None else bool(signals)
    finished = deployment.finished_at
    # Recovery events timed before the deployment finished are data errors, not recoveries.
    recoveries = [s for s in signals if s.at is not None and finished and s.at >= finished]
    recovered_by = (
        min(recoveries, key=lambda s: (s.at, s.id or "")) if failed and recoveries else None
    )
    return Verdict(deployment, tuple(signals), failed, recovered_by)


def assess(
    counted: Iterable[DeploymentRecord],
    fixers: Iterable[DeploymentRecord],
    later: Sequence[DeploymentRecord],
    incidents: Iterable[IncidentRecord],
) -> dict[str, Verdict]:
    """A verdict for every counted deployment, keyed by deployment id."""
    signals = _signals_by_deployment(fixers, later, incidents)
    return {d.id: _verdict(d, signals.get(d.id, [])) for d in counted}

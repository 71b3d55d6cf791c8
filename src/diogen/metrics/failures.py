"""Which counted deployments failed, when they recovered, and which were rework.

A deployment failed when someone marked it failed, a later deployment is linked as fixing it
(rollback, revert, hotfix), an unlinked rollback followed it in its stream (flagged as one, or
redeploying a sha an earlier deployment of the stream shipped), a later deployment reverts its
change or is a hotfix after it (see `fixes`), or an incident is attributed to it (see
`incidents`). `marked_failed` is a person's verdict and wins over every rule, both ways.
Recovery is the first successful fixing or rollback deployment; without one, the moment the
last attributed incident was resolved (two incidents on one deployment: restored when both are).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from diogen.metrics.incidents import LATEST_DEPLOYMENT, Attribution
from diogen.metrics.queries import SUCCESS, DeploymentRecord

MARKED_FAILED = "marked_failed"
FIXED_BY = "fixed_by"
ROLLED_BACK_BY = "rolled_back_by"
REVERTED_BY = "reverted_by"
HOTFIXED_BY = "hotfixed_by"
INCIDENT = "incident"
FIXES = (FIXED_BY, ROLLED_BACK_BY, REVERTED_BY, HOTFIXED_BY)


@dataclass(frozen=True)
class Signal:
    """One reason to call a deployment failed; `at` is the recovery it offers, if any."""

    kind: str
    id: str | None
    at: datetime | None
    inferred: bool = False
    rule: str | None = None


@dataclass(frozen=True)
class Verdict:
    deployment: DeploymentRecord
    signals: tuple[Signal, ...]
    failed: bool
    recovered_by: Signal | None
    # A rollback, revert or hotfix found by a rule rather than a link.
    unlinked_fix: bool = False

    @property
    def recovery_hours(self) -> float | None:
        finished = self.deployment.finished_at
        if self.recovered_by is None or self.recovered_by.at is None or finished is None:
            return None
        return (self.recovered_by.at - finished).total_seconds() / 3600

    @property
    def rework(self) -> bool:
        """An unplanned fix of a production problem (rollback, revert, hotfix)."""
        deployment = self.deployment
        return (
            deployment.is_rollback
            or deployment.fixes_deployment_id is not None
            or self.unlinked_fix
        )


def _fixer_signal(fixer: DeploymentRecord, kind: str | None = None, **kw: Any) -> Signal:
    kind = kind or (ROLLED_BACK_BY if fixer.is_rollback else FIXED_BY)
    # A fixing deployment that did not succeed signals the failure but restores nothing.
    at = fixer.finished_at if fixer.status == SUCCESS else None
    return Signal(kind, fixer.id, at, **kw)


@dataclass(frozen=True)
class UnlinkedFixes:
    """What the deployments since the window's start say about earlier ones, without links.

    `redeploys`: deployments shipping a sha their stream shipped before; `reverts`: deployment
    id → the deployment whose change it reverts; `hotfixes`: deployments shipping a hotfix.
    """

    redeploys: Collection[str] = ()
    reverts: Mapping[str, str] = field(default_factory=dict)
    hotfixes: Collection[str] = ()


def inferred_fixes(
    later: Sequence[DeploymentRecord], unlinked: UnlinkedFixes
) -> dict[str, list[Signal]]:
    """Signals on deployments that a later, unlinked rollback, revert or hotfix repaired.

    A rollback (flagged as one, or redeploying an older sha; redeploying the sha already
    running is not one) and a hotfix repair the deployment before them in their stream; a
    revert repairs the deployment that shipped the reverted commit.
    """
    previous: dict[tuple[str | None, str | None, str], DeploymentRecord] = {}
    signals: dict[str, list[Signal]] = defaultdict(list)
    for record in later:  # oldest first
        before = previous.get(record.stream)
        previous[record.stream] = record
        if record.fixes_deployment_id is not None:
            continue  # linked: `fixers` has it
        if record.id in unlinked.reverts:
            target = unlinked.reverts[record.id]
            signals[target].append(_fixer_signal(record, REVERTED_BY, inferred=True))
        if before is None:
            continue
        redeployed = record.id in unlinked.redeploys and before.sha != record.sha
        if record.is_rollback or redeployed:
            signals[before.id].append(_fixer_signal(record, ROLLED_BACK_BY, inferred=True))
        elif record.id in unlinked.hotfixes:
            signals[before.id].append(_fixer_signal(record, HOTFIXED_BY, inferred=True))
    return signals


def _signals_by_deployment(
    fixers: Iterable[DeploymentRecord],
    inferred: Mapping[str, list[Signal]],
    incidents: Mapping[str, list[Attribution]],
) -> dict[str, list[Signal]]:
    signals: dict[str, list[Signal]] = defaultdict(list)
    for fixer in fixers:
        if fixer.fixes_deployment_id is not None:
            signals[fixer.fixes_deployment_id].append(_fixer_signal(fixer))
    for target, found in inferred.items():
        signals[target].extend(found)
    for deployment_id, attributions in incidents.items():
        signals[deployment_id].extend(
            Signal(
                INCIDENT,
                a.incident.id,
                a.incident.resolved_at,
                inferred=a.rule == LATEST_DEPLOYMENT,
                rule=a.rule,
            )
            for a in attributions
        )
    return signals


def _recovery(signals: list[Signal], finished: datetime | None) -> Signal | None:
    if finished is None:
        return None
    # Recovery events timed before the deployment finished are data errors, not recoveries.
    fixes = [s for s in signals if s.kind in FIXES and s.at is not None and s.at >= finished]
    if fixes:
        return min(fixes, key=lambda s: (s.at, s.id or ""))
    incidents = [s for s in signals if s.kind == INCIDENT]
    if not incidents or any(s.at is None or s.at < finished for s in incidents):
        return None
    return max(incidents, key=lambda s: (s.at, s.id or ""))


def _verdict(deployment: DeploymentRecord, found: list[Signal], unlinked_fix: bool) -> Verdict:
    signals = ([Signal(MARKED_FAILED, None, None)] if deployment.marked_failed else []) + found
    failed = deployment.marked_failed if deployment.marked_failed is not None else bool(signals)
    recovered_by = _recovery(signals, deployment.finished_at) if failed else None
    return Verdict(deployment, tuple(signals), failed, recovered_by, unlinked_fix)


def assess(
    counted: Iterable[DeploymentRecord],
    fixers: Iterable[DeploymentRecord],
    later: Sequence[DeploymentRecord],
    incidents: Mapping[str, list[Attribution]],
    unlinked: UnlinkedFixes | None = None,
) -> dict[str, Verdict]:
    """A verdict for every counted deployment, keyed by deployment id.

    `later` holds the production deployments since the window's start, oldest first;
    `incidents` maps a deployment id to the incidents attributed to it.
    """
    inferred = inferred_fixes(later, unlinked or UnlinkedFixes())
    fixer_ids = {s.id for found in inferred.values() for s in found}
    signals = _signals_by_deployment(fixers, inferred, incidents)
    return {d.id: _verdict(d, signals.get(d.id, []), d.id in fixer_ids) for d in counted}

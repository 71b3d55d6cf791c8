"""Load and classify the silver rows behind one DORA report."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from diogen.metrics import queries
from diogen.metrics.changes import CountedChange, ExcludedChange, classify_changes
from diogen.metrics.deployments import ExcludedDeployment, classify_deployments
from diogen.metrics.failures import Verdict, assess
from diogen.metrics.queries import DeploymentRecord
from diogen.metrics.scope import Scope, environment_pattern, production_environments, resolve_scope
from diogen.metrics.window import Window


@dataclass(frozen=True)
class DoraData:
    """Everything a report is computed from, already classified."""

    scope: Scope
    window: Window
    environment_pattern: str
    environments: tuple[str, ...]
    counted: list[DeploymentRecord]
    excluded: list[ExcludedDeployment]
    changes: list[CountedChange]
    excluded_changes: list[ExcludedChange]
    verdicts: dict[str, Verdict]
    # False when nothing records failures (git alone): failure rates are then unknown, not 0.
    failure_data: bool
    repositories: dict[str, str]


def load(session: Session, scope: Scope, window: Window, pattern: str) -> DoraData:
    """Run the report's queries (a fixed handful, whatever the data size) and classify rows."""
    resolved = resolve_scope(session, scope)
    environments = production_environments(session, resolved, environment_pattern(pattern))
    candidates = queries.candidate_deployments(session, resolved, window)
    counted, excluded = classify_deployments(candidates, environments, window, pattern)
    counted_ids = queries.counted_ids(resolved, environments, window)
    deployed_at = {d.id: d.finished_at for d in counted if d.finished_at is not None}
    changes, excluded_changes = classify_changes(
        queries.deployed_changes(session, counted_ids),
        deployed_at,
        queries.first_production_deploy(session, resolved, environments, window.end),
    )
    verdicts = assess(
        counted,
        queries.fixers(session, counted_ids),
        queries.later_production(session, resolved, environments, window.start),
        queries.linked_incidents(session, counted_ids),
    )
    # A fixer outside the scope can still link to a deployment in it: its signal is data too.
    failure_data = queries.has_failure_data(session, resolved) or any(
        verdict.signals for verdict in verdicts.values()
    )
    return DoraData(
        scope=scope,
        window=window,
        environment_pattern=pattern,
        environments=environments,
        counted=counted,
        excluded=excluded,
        changes=changes,
        excluded_changes=excluded_changes,
        verdicts=verdicts,
        failure_data=failure_data,
        repositories=queries.repository_names(session),
    )

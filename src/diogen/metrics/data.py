"""Load and classify the silver rows behind one DORA report."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.config import PRODUCTION_ENVIRONMENT_PATTERN
from diogen.errors import InputError
from diogen.metrics import fixes, queries
from diogen.metrics.change_inputs import ChangeInputs, ReportDeployments, silver_inputs
from diogen.metrics.changes import Change, ExcludedChange, classify_changes
from diogen.metrics.deployments import ExcludedDeployment, classify_deployments
from diogen.metrics.failures import UnlinkedFixes, Verdict, assess
from diogen.metrics.fixes import DEFAULT_HOTFIX_PATTERN
from diogen.metrics.gold import freshness
from diogen.metrics.gold_changes import gold_inputs
from diogen.metrics.incidents import (
    DEFAULT_ATTRIBUTION_HOURS,
    Attribution,
    IncidentRecord,
    attribute,
    attributed_to,
    load_incidents,
)
from diogen.metrics.pulls import fold_pull_requests
from diogen.metrics.queries import DeploymentRecord
from diogen.metrics.scope import (
    ResolvedScope,
    Scope,
    environment_pattern,
    production_environments,
    resolve_scope,
)
from diogen.metrics.team_gold import with_team_shipments
from diogen.metrics.window import Window
from diogen.silver import Deployment, Incident


@dataclass(frozen=True)
class DoraData:
    """Everything a report is computed from, already classified."""

    scope: Scope
    window: Window
    environment_pattern: str
    environments: tuple[str, ...]
    counted: list[DeploymentRecord]
    excluded: list[ExcludedDeployment]
    changes: list[Change]
    excluded_changes: list[ExcludedChange]
    verdicts: dict[str, Verdict]
    # False when nothing records failures (git alone): failure rates are then unknown, not 0.
    failure_data: bool
    repositories: dict[str, str]
    # Incidents of the scope that started in the window, attributed or not.
    incidents: list[Attribution]


@dataclass(frozen=True)
class Rules:
    """The configurable rules of a report (DESIGN.md §5), with the documented defaults."""

    production_environment: str = PRODUCTION_ENVIRONMENT_PATTERN
    incident_attribution_hours: float = DEFAULT_ATTRIBUTION_HOURS
    hotfix_pattern: str = DEFAULT_HOTFIX_PATTERN

    def __post_init__(self) -> None:
        environment_pattern(self.production_environment)
        self.hotfix_regex()
        if self.incident_attribution_hours < 0:
            raise InputError(
                "incident attribution window must not be negative: "
                f"{self.incident_attribution_hours} h",
                hours=self.incident_attribution_hours,
            )

    def hotfix_regex(self) -> re.Pattern[str]:
        try:
            return re.compile(self.hotfix_pattern)
        except re.error as exc:
            raise InputError(
                f"hotfix pattern {self.hotfix_pattern!r} is not a valid regular expression: {exc}",
                pattern=self.hotfix_pattern,
            ) from exc


def load(
    session: Session, scope: Scope, window: Window, rules: Rules, *, explain: bool = False
) -> DoraData:
    """Run the report's queries (a fixed handful, whatever the data size) and classify rows.

    `explain` reads what only the evidence shows (merge commits, each pull request's shas)."""
    resolved = with_team_shipments(session, resolve_scope(session, scope))
    pattern = rules.production_environment
    regex = environment_pattern(pattern)
    environments = production_environments(session, resolved, regex)
    # The scope's deployments resolved once: a team's filter (a correlated EXISTS per
    # deployment) is not evaluated again by later statements.
    candidates, later = queries.report_deployments(session, resolved, environments, window)
    counted, excluded = classify_deployments(candidates, environments, window, pattern)
    recent_ids = queries.id_list(session, [d.id for d in later])
    in_window = {d.id for d in later if d.finished_at is not None and d.finished_at < window.end}
    counted_ids = queries.id_list(session, in_window)
    deployed_at = {d.id: d.finished_at for d in counted if d.finished_at is not None}
    inputs = _change_inputs(
        session, resolved, environments, window, rules, in_window, later, explain=explain
    )
    commits, excluded_commits = classify_changes(inputs.records, deployed_at, inputs.first_deploy)
    folded = fold_pull_requests(
        commits,
        excluded_commits,
        inputs,
        deployed_at,
        team_scope=resolved.team_ids is not None,
    )
    attributions = attribute(
        session,
        load_incidents(
            session, Incident.deployment_id.in_(counted_ids), Incident.started_at >= window.start
        ),
        regex,
        rules.incident_attribution_hours,
    )
    verdicts = assess(
        counted,
        queries.fixers(session, counted_ids),
        later,
        attributed_to(a for a in attributions if a.deployment_id in deployed_at),
        UnlinkedFixes(
            redeploys=queries.redeploys(session, recent_ids),
            reverts=fixes.reverts(session, recent_ids),
            hotfixes=inputs.hotfixes,
        ),
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
        changes=folded.counted,
        excluded_changes=folded.excluded,
        verdicts=verdicts,
        failure_data=failure_data,
        repositories=queries.repository_names(session),
        incidents=_incidents_in_scope(session, resolved, window, attributions),
    )


def _change_inputs(
    session: Session,
    resolved: ResolvedScope,
    environments: tuple[str, ...],
    window: Window,
    rules: Rules,
    counted: set[str],
    later: list[DeploymentRecord],
    *,
    explain: bool,
) -> ChangeInputs:
    """Gold for the deployments of fresh repositories, silver for the rest. Gold rows carry
    no file paths, so a monorepo service's scope (changes under a path) reads silver."""
    deployments = ReportDeployments(
        counted,
        [d.id for d in later],
        {d.id: d.repository_id for d in later},
        {d.id: d.finished_at for d in later},
    )
    repositories = {repo for repo in deployments.repository_of.values() if repo is not None}
    fresh = frozenset() if resolved.service_paths else freshness(session, repositories).fresh
    from_gold, from_silver = deployments.split(fresh)
    hotfix = rules.hotfix_regex()
    inputs = ChangeInputs()
    if from_gold.recent:
        inputs.extend(
            gold_inputs(session, resolved, environments, window, from_gold, hotfix, explain=explain)
        )
    if from_silver.recent:
        inputs.extend(silver_inputs(session, resolved, environments, window, from_silver, hotfix))
    return inputs


def _incidents_in_scope(
    session: Session, resolved: ResolvedScope, window: Window, attributions: list[Attribution]
) -> list[Attribution]:
    """Incidents started in the window that belong to the scope: attributed to one of its
    deployments, or naming one of its repositories or services."""
    started = [a for a in attributions if window.contains(a.incident.started_at)]
    if resolved.scope == Scope():
        return started
    attributed = {a.deployment_id for a in started if a.deployment_id is not None}
    in_scope = set(
        session.scalars(
            select(Deployment.id).where(Deployment.id.in_(attributed), resolved.deployment_filter())
        )
    )
    return [a for a in started if a.deployment_id in in_scope or _names_scope(a.incident, resolved)]


def _names_scope(incident: IncidentRecord, resolved: ResolvedScope) -> bool:
    repos, services = resolved.repository_ids or (), resolved.service_ids or ()
    return incident.repository_id in repos or incident.service_id in services

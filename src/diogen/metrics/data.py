"""Load and classify the silver rows behind one DORA report."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.config import PRODUCTION_ENVIRONMENT_PATTERN
from diogen.errors import InputError
from diogen.metrics import fixes, queries
from diogen.metrics.changes import Change, ExcludedChange
from diogen.metrics.counted_changes import ChangeRules, counted_changes
from diogen.metrics.deployments import ExcludedDeployment, classify_deployments
from diogen.metrics.failures import UnlinkedFixes, Verdict, assess
from diogen.metrics.fixes import DEFAULT_HOTFIX_PATTERN
from diogen.metrics.incidents import (
    DEFAULT_ATTRIBUTION_HOURS,
    Attribution,
    IncidentRecord,
    attribute,
    attributed_to,
    load_incidents,
)
from diogen.metrics.lead_times import LeadTimes
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
    lead_times: LeadTimes
    # The changes one by one, for the evidence; empty when the lead times came from gold's
    # precomputed rows (never with the evidence asked for).
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

    def precomputed_in_gold(self) -> bool:
        """Whether gold's precomputed lead times follow these rules (`gold_shipments`)."""
        return (
            self.production_environment == PRODUCTION_ENVIRONMENT_PATTERN
            and self.hotfix_pattern == DEFAULT_HOTFIX_PATTERN
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
    changes = counted_changes(
        session,
        resolved,
        ChangeRules(environments, rules.hotfix_regex(), rules.precomputed_in_gold()),
        window,
        later,
        explain=explain,
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
            hotfixes=changes.hotfixes,
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
        lead_times=changes.lead_times,
        changes=changes.counted,
        excluded_changes=changes.excluded,
        verdicts=verdicts,
        failure_data=failure_data,
        repositories=queries.repository_names(session),
        incidents=_incidents_in_scope(
            session, resolved, window, attributions, {d.id for d in (*candidates, *later)}
        ),
    )


def _incidents_in_scope(
    session: Session,
    resolved: ResolvedScope,
    window: Window,
    attributions: list[Attribution],
    in_scope: set[str],
) -> list[Attribution]:
    """Incidents started in the window that belong to the scope: attributed to one of its
    deployments, or naming one of its repositories or services. `in_scope`: deployments
    already known to be the scope's; the database is asked about the others only."""
    started = [a for a in attributions if window.contains(a.incident.started_at)]
    if resolved.scope == Scope():
        return started
    attributed = {a.deployment_id for a in started if a.deployment_id is not None}
    unknown = attributed - in_scope
    if unknown:
        asked = select(Deployment.id).where(
            Deployment.id.in_(queries.id_list(session, unknown)), resolved.deployment_filter()
        )
        in_scope = in_scope | set(session.scalars(asked))
    return [a for a in started if a.deployment_id in in_scope or _names_scope(a.incident, resolved)]


def _names_scope(incident: IncidentRecord, resolved: ResolvedScope) -> bool:
    repos, services = resolved.repository_ids or (), resolved.service_ids or ()
    return incident.repository_id in repos or incident.service_id in services

"""The changes a report counts, read the fastest way that gives the same answer.

With the default rules, gold fresh for every repository in question and no evidence asked
for, each counted change's precomputed lead time is read from gold (`gold_lead_times`).
Otherwise every change of the counted deployments is built: from gold's rows for
repositories whose gold is fresh (`gold_changes`), from silver for the others
(`change_inputs`), then classified and folded once over the union (`changes`, `pulls`), which
is what the evidence lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from diogen.metrics import queries
from diogen.metrics.change_inputs import ChangeInputs, ReportDeployments, silver_inputs
from diogen.metrics.changes import Change, ExcludedChange, classify_changes
from diogen.metrics.gold import freshness
from diogen.metrics.gold_changes import gold_inputs
from diogen.metrics.gold_lead_times import gold_hotfixes, gold_lead_times
from diogen.metrics.lead_times import LeadTimes
from diogen.metrics.pulls import fold_pull_requests
from diogen.metrics.queries import DeploymentRecord
from diogen.metrics.scope import ResolvedScope
from diogen.metrics.window import Window


@dataclass(frozen=True)
class ChangeRules:
    """What of a report's rules decides its changes: its production environments, its
    hotfix rule, and whether gold's precomputed lead times follow both."""

    environments: tuple[str, ...]
    hotfix: re.Pattern[str]
    precomputed_in_gold: bool


@dataclass(frozen=True)
class CountedChanges:
    lead_times: LeadTimes
    # One by one, for the evidence; empty when read from gold's precomputed lead times.
    counted: list[Change]
    excluded: list[ExcludedChange]
    # The deployments since the window's start that shipped a pull request marked hotfix.
    hotfixes: set[str]


def counted_changes(
    session: Session,
    scope: ResolvedScope,
    rules: ChangeRules,
    window: Window,
    later: list[DeploymentRecord],
    *,
    explain: bool,
) -> CountedChanges:
    """The changes of the deployments of `later` (the scope's successful production
    deployments since the window's start) that finished inside the window."""
    deployed_at = {
        d.id: d.finished_at
        for d in later
        if d.finished_at is not None and window.contains(d.finished_at)
    }
    deployments = ReportDeployments(
        deployed_at,
        [d.id for d in later],
        {d.id: d.repository_id for d in later},
        {d.id: d.finished_at for d in later},
    )
    from_gold, from_silver = deployments.split(_fresh_repositories(session, scope, deployments))
    if not explain and rules.precomputed_in_gold and not from_silver.recent:
        lead_times = gold_lead_times(session, scope, deployed_at)
        if lead_times is not None:
            recent = queries.id_list(session, deployments.recent)
            return CountedChanges(lead_times, [], [], gold_hotfixes(session, recent))
    inputs = _change_inputs(session, scope, rules, window, from_gold, from_silver, explain)
    commits, excluded_commits = classify_changes(inputs.records, deployed_at, inputs.first_deploy)
    team = scope.team_ids is not None
    folded = fold_pull_requests(commits, excluded_commits, inputs, deployed_at, team_scope=team)
    return CountedChanges(
        LeadTimes.of(folded.counted), folded.counted, folded.excluded, inputs.hotfixes
    )


def _fresh_repositories(
    session: Session, scope: ResolvedScope, deployments: ReportDeployments
) -> frozenset[str]:
    """The repositories of the deployments whose gold is fresh. Gold rows carry no file
    paths, so a monorepo service's scope (changes under a path) reads silver."""
    if scope.service_paths:
        return frozenset()
    repositories = {repo for repo in deployments.repository_of.values() if repo is not None}
    return freshness(session, repositories).fresh


def _change_inputs(
    session: Session,
    scope: ResolvedScope,
    rules: ChangeRules,
    window: Window,
    from_gold: ReportDeployments,
    from_silver: ReportDeployments,
    explain: bool,
) -> ChangeInputs:
    """Gold's rows for the deployments of fresh repositories, silver for the rest."""
    environments = rules.environments
    inputs = ChangeInputs()
    if from_gold.recent:
        inputs.extend(
            gold_inputs(
                session, scope, environments, window, from_gold, rules.hotfix, explain=explain
            )
        )
    if from_silver.recent:
        inputs.extend(
            silver_inputs(session, scope, environments, window, from_silver, rules.hotfix)
        )
    return inputs

"""What lead time is computed from, and how silver gives it.

A deployment's changes live in its repository (deployed commits, the pull requests matched to
them, their other deployments), so a report splits its deployments by whether their
repository's gold is fresh: those are read from `gold_change` (`gold_changes`), the others
computed from silver here, and both answers are joined before anything is classified. The
classification (`changes.classify_changes`, `pulls.fold_pull_requests`) then runs once over
the union, so a report is the same whichever way each part was read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from diogen.metrics import fixes, pull_queries, queries
from diogen.metrics.pull_queries import PullRequestFacts
from diogen.metrics.queries import ChangeRecord
from diogen.metrics.scope import ResolvedScope
from diogen.metrics.window import Window


@dataclass
class ChangeInputs:
    """The rows behind a report's changes.

    - `records`: commits shipped by the counted deployments (those of pull requests may be
      among them: `folded` names them, and they give way to their pull request);
    - `first_deploy`: commit id → first production deployment in scope, for commits that
      several production deployments shipped;
    - `pull_requests`: the pull requests with a commit in a counted deployment, each with its
      first production deployment in scope; `shas` (for the evidence) and `in_scope` (one of
      its deployed commits is a change of the scope) per pull request;
    - `hotfixes`: the deployments since the window's start that shipped a commit of a pull
      request the hotfix rule marks (`fixes`).
    """

    records: list[ChangeRecord] = field(default_factory=list)
    first_deploy: dict[str, datetime] = field(default_factory=dict)
    pull_requests: dict[str, PullRequestFacts] = field(default_factory=dict)
    folded: set[str] = field(default_factory=set)
    shas: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    in_scope: dict[str, bool] = field(default_factory=dict)
    hotfixes: set[str] = field(default_factory=set)

    def extend(self, other: ChangeInputs) -> ChangeInputs:
        """Both parts together (they cover disjoint repositories)."""
        self.records += other.records
        self.first_deploy.update(other.first_deploy)
        self.pull_requests.update(other.pull_requests)
        self.folded |= other.folded
        self.shas.update(other.shas)
        self.in_scope.update(other.in_scope)
        self.hotfixes |= other.hotfixes
        return self


@dataclass(frozen=True)
class ReportDeployments:
    """The deployments a report's changes come from, with their repositories.

    `counted`: in scope, successful, production, finished in the window; `recent`: in scope,
    successful, production, finished since the window's start (the counted among them), with
    their repositories and finish times.
    """

    counted: Collection[str]
    recent: Collection[str]
    repository_of: Mapping[str, str | None]
    finished_at: Mapping[str, datetime | None]

    def split(self, repositories: Collection[str]) -> tuple[ReportDeployments, ReportDeployments]:
        """(the deployments of `repositories`, the others)."""
        inside = {d for d, repo in self.repository_of.items() if repo in repositories}
        parts = tuple(
            ReportDeployments(
                [d for d in self.counted if (d in inside) == wanted],
                [d for d in self.recent if (d in inside) == wanted],
                self.repository_of,
                self.finished_at,
            )
            for wanted in (True, False)
        )
        return parts[0], parts[1]


def silver_inputs(
    session: Session,
    scope: ResolvedScope,
    environments: tuple[str, ...],
    window: Window,
    deployments: ReportDeployments,
    hotfix: re.Pattern[str],
) -> ChangeInputs:
    """The inputs computed from silver (with gold's matching where it is fresh)."""
    counted = set(deployments.counted)
    counted_ids = queries.id_list(session, counted)
    inputs = ChangeInputs(
        records=queries.deployed_changes(session, scope, counted_ids),
        first_deploy=queries.first_production_deploy(
            session, scope, environments, window.end, counted_ids
        ),
    )
    # The commit <-> pull request matching runs once, for links and hotfixes alike.
    shipped = pull_queries.shipped(session, scope, queries.id_list(session, deployments.recent))
    pairs = ((row.deployment_id, row.link.pull_request_id) for row in shipped)
    inputs.hotfixes = fixes.hotfixes(session, pairs, hotfix)
    links = pull_queries.links_of(shipped, counted)
    for link in links:
        inputs.folded.add(link.commit_id)
        inputs.shas[link.pull_request_id].add(link.sha)
        in_scope = inputs.in_scope.get(link.pull_request_id, False)
        inputs.in_scope[link.pull_request_id] = in_scope or link.commit_in_scope
    inputs.pull_requests = pull_queries.facts(
        session, scope, inputs.in_scope.keys(), environments, window.end
    )
    return inputs

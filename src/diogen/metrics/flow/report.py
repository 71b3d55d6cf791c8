"""The flow reports (DESIGN.md §5 "Flow"; definitions in docs/flow.md).

`pr_flow`, `issue_flow`, `sprint_velocity`, `sprint_report` and `flow_report` (all of them in
one document) are what the CLI, REST API, dashboard and alerts call. Each validates its
arguments before it runs a query, returns a JSON-ready dict, and with `explain=True` adds
`evidence`: the rows behind every figure and, for every row left out, the metric it is left
out of and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_
from sqlalchemy.orm import Session

from diogen.config import BOT_PATTERN, PRODUCTION_ENVIRONMENT_PATTERN
from diogen.errors import InputError
from diogen.metrics.flow.actors import bot_rule
from diogen.metrics.flow.bottleneck import (
    bottleneck_section,
    stage_evidence,
    stage_exclusions,
    stages_of,
)
from diogen.metrics.flow.common import Buckets
from diogen.metrics.flow.issue_report import issue_buckets, issue_evidence, issue_sections
from diogen.metrics.flow.issues import load_issues
from diogen.metrics.flow.pr_report import (
    excluded_order,
    pull_request_buckets,
    pull_request_evidence,
    pull_request_sections,
)
from diogen.metrics.flow.prs import load_pull_requests
from diogen.metrics.flow.sprint_report import (
    series,
    sprint_evidence,
    sprint_figures,
    velocity_section,
)
from diogen.metrics.flow.sprints import find_sprint, load_sprints
from diogen.metrics.flow.statuses import WAITING_STATUS_PATTERN, waiting_rule
from diogen.metrics.scope import ResolvedScope, Scope, environment_pattern, resolve_scope
from diogen.metrics.window import Bucket, Window, check_bucket, default_window
from diogen.silver import Sprint

# The bottleneck's trend needs buckets even when the report asks for none.
TREND_BUCKET: Bucket = "week"
ISSUE_RULES = {
    "team": "issues whose assignee was a member of the team when the issue was created",
    "all": "every issue: issues carry no organisation, repository or service",
}
NOT_APPLICABLE = (
    "issues and sprints carry no repository or service; ask for the organisation or a team "
    "to see issue and sprint flow"
)


@dataclass(frozen=True)
class _Request:
    """One report's arguments, checked and resolved."""

    scope: Scope
    resolved: ResolvedScope
    window: Window
    unit: Bucket | None
    now: datetime
    bots: re.Pattern[str]
    waiting: re.Pattern[str]
    explain: bool
    # Which deployments count as reaching production, for issue lead time to deployment.
    production: re.Pattern[str]

    def head(self) -> dict[str, Any]:
        return {"scope": self.scope.to_json(), "window": self.window.to_json()}


def _request(
    session: Session,
    scope: Scope | None,
    window: Window | None,
    *,
    bucket: str | None,
    explain: bool,
    bot_pattern: str,
    waiting_status_pattern: str = WAITING_STATUS_PATTERN,
    production_environment: str = PRODUCTION_ENVIRONMENT_PATTERN,
    now: datetime | None,
) -> _Request:
    """Everything checked (patterns, bucket, scope names) before any figure is computed."""
    bots, waiting = bot_rule(bot_pattern), waiting_rule(waiting_status_pattern)
    unit = check_bucket(bucket)
    chosen = scope or Scope()
    moment = now or datetime.now(UTC)
    return _Request(
        scope=chosen,
        resolved=resolve_scope(session, chosen),
        window=window or default_window(moment),
        unit=unit,
        now=moment,
        bots=bots,
        waiting=waiting,
        explain=explain,
        production=environment_pattern(production_environment),
    )


def _issues_apply(scope: Scope) -> bool:
    return not (scope.repo or scope.service)


def _refuse_code_scope(scope: Scope | None) -> None:
    if scope is not None and not _issues_apply(scope):
        raise InputError(NOT_APPLICABLE, scope=scope.to_json())


def _pr_part(session: Session, request: _Request) -> dict[str, Any]:
    at = min(request.window.end, request.now)
    data = load_pull_requests(session, request.resolved, request.window, request.bots, at)
    stages = [stages_of(facts) for facts in data.merged()]
    part: dict[str, Any] = {
        "pull_requests": pull_request_sections(data),
        "bottleneck": bottleneck_section(
            stages, Buckets(request.window, request.unit or TREND_BUCKET)
        ),
    }
    if request.unit is not None:
        part["buckets"] = pull_request_buckets(data, Buckets(request.window, request.unit))
    if request.explain:
        evidence = pull_request_evidence(data)
        evidence["stages"] = stage_evidence(stages)
        evidence["excluded"] = sorted(
            evidence["excluded"] + stage_exclusions(stages), key=excluded_order
        )
        part["evidence"] = {"pull_requests": evidence}
    return part


def _issue_part(session: Session, request: _Request) -> dict[str, Any]:
    data = load_issues(
        session,
        request.resolved,
        request.window,
        request.bots,
        request.waiting,
        request.production,
    )
    kind = "team" if request.resolved.team_ids is not None else "all"
    part: dict[str, Any] = {"issues": {"rule": ISSUE_RULES[kind], **issue_sections(data)}}
    if request.unit is not None:
        part["buckets"] = issue_buckets(data, Buckets(request.window, request.unit))
    if request.explain:
        part["evidence"] = {"issues": issue_evidence(data)}
    return part


def _sprint_part(session: Session, request: _Request) -> dict[str, Any]:
    window = request.window
    finished = and_(Sprint.completed_at >= window.start, Sprint.completed_at < window.end)
    sprints = load_sprints(session, request.resolved, finished, request.bots, request.now)
    if request.resolved.team_ids is not None:
        sprints = [data for data in sprints if data.issues or data.bots]
    part: dict[str, Any] = {"sprints": velocity_section(sprints)}
    if request.explain:
        part["evidence"] = {
            "sprints": [
                {"id": data.sprint.id, "name": data.sprint.name, **sprint_evidence(data)}
                for data in sprints
            ]
        }
    return part


def _assemble(request: _Request, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One document from parts: sections side by side, bucket rows joined, evidence merged."""
    report = request.head()
    evidence: dict[str, Any] = {}
    rows = Buckets(request.window, request.unit).heads() if request.unit else []
    for part in parts:
        for key, value in part.items():
            if key == "buckets":
                rows = [{**row, **extra} for row, extra in zip(rows, value, strict=True)]
            elif key == "evidence":
                evidence.update(value)
            else:
                report[key] = value
    if request.unit is not None:
        report["buckets"] = rows
    if request.explain:
        report["evidence"] = evidence
    return report


def pr_flow(
    session: Session,
    scope: Scope | None = None,
    window: Window | None = None,
    *,
    bucket: str | None = None,
    explain: bool = False,
    bot_pattern: str = BOT_PATTERN,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Pull-request flow and the bottleneck for `scope` (default: everything) over `window`.

    `now` (default: the clock) caps the instant work in progress is measured at. Raises
    `InputError` for a bad bucket or bot pattern and `NotFoundError` for an unknown scope name.
    """
    request = _request(
        session, scope, window, bucket=bucket, explain=explain, bot_pattern=bot_pattern, now=now
    )
    return _assemble(request, [_pr_part(session, request)])


def issue_flow(
    session: Session,
    scope: Scope | None = None,
    window: Window | None = None,
    *,
    bucket: str | None = None,
    explain: bool = False,
    bot_pattern: str = BOT_PATTERN,
    waiting_status_pattern: str = WAITING_STATUS_PATTERN,
    production_environment: str = PRODUCTION_ENVIRONMENT_PATTERN,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Issue flow and the velocity of sprints completed in `window`.

    A repository or service scope is an `InputError`: issues belong to neither.
    """
    _refuse_code_scope(scope)
    request = _request(
        session,
        scope,
        window,
        bucket=bucket,
        explain=explain,
        bot_pattern=bot_pattern,
        waiting_status_pattern=waiting_status_pattern,
        production_environment=production_environment,
        now=now,
    )
    return _assemble(request, [_issue_part(session, request), _sprint_part(session, request)])


def sprint_velocity(
    session: Session,
    scope: Scope | None = None,
    window: Window | None = None,
    *,
    bot_pattern: str = BOT_PATTERN,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The sprints completed in `window` and their velocity: `issue_flow`'s `sprints` section
    alone, without reading the issues' histories that its other sections need."""
    _refuse_code_scope(scope)
    request = _request(
        session, scope, window, bucket=None, explain=False, bot_pattern=bot_pattern, now=now
    )
    return _assemble(request, [_sprint_part(session, request)])


def flow_report(
    session: Session,
    scope: Scope | None = None,
    window: Window | None = None,
    *,
    bucket: str | None = None,
    explain: bool = False,
    bot_pattern: str = BOT_PATTERN,
    waiting_status_pattern: str = WAITING_STATUS_PATTERN,
    production_environment: str = PRODUCTION_ENVIRONMENT_PATTERN,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Every flow metric in one document: pull requests, bottleneck, issues, sprints.

    For a repository or service scope `issues` and `sprints` are null and `notes` says why.
    """
    request = _request(
        session,
        scope,
        window,
        bucket=bucket,
        explain=explain,
        bot_pattern=bot_pattern,
        waiting_status_pattern=waiting_status_pattern,
        production_environment=production_environment,
        now=now,
    )
    parts = [_pr_part(session, request)]
    notes = []
    if _issues_apply(request.scope):
        parts += [_issue_part(session, request), _sprint_part(session, request)]
    else:
        parts.append({"issues": None, "sprints": None})
        notes.append(NOT_APPLICABLE)
    return {**_assemble(request, parts), "notes": notes}


def sprint_report(
    session: Session,
    sprint: str,
    scope: Scope | None = None,
    *,
    explain: bool = False,
    bot_pattern: str = BOT_PATTERN,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One sprint (by id, or by name when unique): its figures and burndown/burnup series.

    A team scope counts the team's issues only. Raises `NotFoundError` for an unknown sprint
    and `InputError` for an ambiguous name or a repository or service scope.
    """
    rule = bot_rule(bot_pattern)
    _refuse_code_scope(scope)
    chosen = scope or Scope()
    resolved = resolve_scope(session, chosen)
    condition = find_sprint(session, sprint)
    (data,) = load_sprints(session, resolved, condition, rule, now or datetime.now(UTC))
    report = {"scope": chosen.to_json(), **sprint_figures(data), "series": series(data)}
    if explain:
        report["evidence"] = sprint_evidence(data)
    return report

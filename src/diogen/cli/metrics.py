"""`diogen metrics dora|flow|sprint`: reports as tables for people or JSON documents."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from diogen.cli.app import (
    ConfigOption,
    DatabaseOption,
    OrgOption,
    OutputFormat,
    RepoOption,
    ServiceOption,
    TeamOption,
    database,
    metrics_app,
    settings_for,
)
from diogen.db import session_scope
from diogen.metrics import Scope, dora_report, make_window, render_table
from diogen.metrics.flow import flow_report, sprint_report
from diogen.metrics.flow.render import render_flow


class BucketChoice(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class BenchmarksChoice(StrEnum):
    y2023 = "2023"
    y2024 = "2024"
    y2021 = "2021"


FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="DATE",
        help="Window start, included: YYYY-MM-DD (UTC midnight) or an ISO 8601 date-time "
        "(default: 90 days before --to).",
        show_default=False,
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="DATE",
        help="Window end, excluded (default: the start of tomorrow, UTC, so today counts).",
        show_default=False,
    ),
]
BucketOption = Annotated[
    BucketChoice | None,
    typer.Option("--bucket", help="Also break the window down by day, week (Monday) or month."),
]
BenchmarksOption = Annotated[
    BenchmarksChoice | None,
    typer.Option(
        "--benchmarks",
        help="DORA report year whose tiers to use (default: settings, 2023).",
        show_default=False,
    ),
]
ExplainOption = Annotated[
    bool,
    typer.Option(
        "--explain", help="List the deployments and changes counted, and every exclusion."
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


@metrics_app.command("dora")
def dora(
    org: OrgOption = None,
    team: TeamOption = None,
    repo: RepoOption = None,
    service: ServiceOption = None,
    start: FromOption = None,
    end: ToOption = None,
    bucket: BucketOption = None,
    benchmarks: BenchmarksOption = None,
    explain: ExplainOption = False,
    output: FormatOption = OutputFormat.table,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Deployment frequency, lead time, change failure rate, recovery time and rework rate."""
    settings = settings_for(
        database_url, config, benchmarks=benchmarks.value if benchmarks else None
    )
    # Dates and the scope are checked before the database is opened, so a typo fails fast.
    window = make_window(start, end)
    scope = Scope(org=org, team=team, repo=repo, service=service)
    with database(settings) as engine, session_scope(engine) as session:
        report = dora_report(
            session,
            scope,
            window,
            bucket=bucket.value if bucket else None,
            benchmarks=settings.benchmarks,
            production_environment=settings.production_environment,
            incident_attribution_hours=settings.incident_attribution_hours,
            hotfix_pattern=settings.hotfix_pattern,
            explain=explain,
        )
    if output is OutputFormat.json:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(render_table(report), nl=False)


@metrics_app.command("flow")
def flow(
    org: OrgOption = None,
    team: TeamOption = None,
    repo: RepoOption = None,
    service: ServiceOption = None,
    start: FromOption = None,
    end: ToOption = None,
    bucket: BucketOption = None,
    explain: ExplainOption = False,
    output: FormatOption = OutputFormat.table,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Pull-request flow, the bottleneck stage, issue cycle and lead time, and sprints."""
    settings = settings_for(database_url, config)
    window = make_window(start, end)
    scope = Scope(org=org, team=team, repo=repo, service=service)
    with database(settings) as engine, session_scope(engine) as session:
        report = flow_report(
            session,
            scope,
            window,
            bucket=bucket.value if bucket else None,
            explain=explain,
            bot_pattern=settings.bot_pattern,
            production_environment=settings.production_environment,
        )
    if output is OutputFormat.json:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(render_flow(report), nl=False)


@metrics_app.command("sprint")
def sprint(
    name: Annotated[str, typer.Argument(metavar="SPRINT", help="The sprint's name (or id).")],
    team: TeamOption = None,
    explain: ExplainOption = False,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """One sprint: committed, added, removed, completed, carry-over, burndown and burnup (JSON)."""
    settings = settings_for(database_url, config)
    with database(settings) as engine, session_scope(engine) as session:
        report = sprint_report(
            session,
            name,
            Scope(team=team) if team else None,
            explain=explain,
            bot_pattern=settings.bot_pattern,
        )
    typer.echo(json.dumps(report, indent=2))

"""`diogen sync jira`: projects, boards, sprints and issues with their whole history from Jira
Cloud or Jira Server/Data Center."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from diogen.cli.app import (
    ConfigOption,
    DatabaseOption,
    database,
    info,
    interruptible,
    settings_for,
    sync_app,
)
from diogen.cli.sync_github import SyncProgress
from diogen.connectors.jira import IncidentRules, JiraConfig, JiraConnector
from diogen.connectors.jira.config import POINTS_FIELDS
from diogen.errors import InputError, validation_problems
from diogen.ingest.runner import SyncResult, run_sync
from diogen.processing.locks import sync_lock

# Counters of a sync, as the summary names them.
SHOWN = (
    ("projects", "projects"),
    ("boards", "boards"),
    ("sprints", "sprints"),
    ("issues", "issues"),
    ("changes", "changelog entries"),
)
Repeated = Annotated[list[str] | None, typer.Option(show_default=False)]


@sync_app.command("jira")
def sync_jira(
    url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            envvar="DIOGEN_JIRA_URL",
            help="The site, e.g. https://acme.atlassian.net (default: DIOGEN_JIRA_URL).",
            show_default=False,
        ),
    ] = None,
    project: Annotated[
        list[str] | None,
        typer.Option("--project", metavar="KEY", help="A project (repeat for several)."),
    ] = None,
    board: Annotated[
        list[int] | None,
        typer.Option("--board", metavar="ID", help="A board and its filter's issues (repeat)."),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(
            metavar="EMAIL",
            envvar="DIOGEN_JIRA_EMAIL",
            help="Cloud: the account the API token belongs to (default: DIOGEN_JIRA_EMAIL).",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            metavar="TOKEN",
            envvar="DIOGEN_JIRA_TOKEN",
            help="Cloud: API token; Server/Data Center: personal access token "
            "(default: DIOGEN_JIRA_TOKEN).",
            show_default=False,
            show_envvar=False,
        ),
    ] = None,
    server: Annotated[
        bool | None,
        typer.Option(
            "--server/--cloud",
            help="Jira Server/Data Center (REST v2, PAT) or Cloud (REST v3, email + API token); "
            "default: Cloud for *.atlassian.net, else Server.",
            show_default=False,
        ),
    ] = None,
    points_field: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="Field holding story points, by name, first found wins (repeat; default: "
            + ", ".join(repr(name) for name in POINTS_FIELDS)
            + "; a board's estimation field comes first).",
            show_default=False,
        ),
    ] = None,
    incident_type: Annotated[
        list[str] | None,
        typer.Option(metavar="TYPE", help="Issues of this type are incidents (default: Incident)."),
    ] = None,
    incident_label: Annotated[
        list[str] | None,
        typer.Option(metavar="LABEL", help="Issues with this label are incidents."),
    ] = None,
    incident_priority: Annotated[
        list[str] | None,
        typer.Option(metavar="PRIORITY", help="Issues of this priority are incidents."),
    ] = None,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Sync Jira: projects, boards (columns, estimation), sprints, and issues with their whole
    changelog: status transitions, sprint scope changes, story points, assignees, incidents."""
    settings = settings_for(db, config)
    incidents: dict[str, Any] = {
        "labels": incident_label or settings.jira_incident_labels,
        "priorities": incident_priority or settings.jira_incident_priorities,
    }
    if incident_type or settings.jira_incident_types is not None:
        incidents["types"] = incident_type or settings.jira_incident_types
    stored_token = settings.jira_token.get_secret_value() if settings.jira_token else None
    options: dict[str, Any] = {
        "url": url or settings.jira_url,
        "projects": project or ([] if board else settings.jira_projects),
        "boards": board or [],
        "email": email or settings.jira_email,
        "token": token or stored_token,
        "flavor": None if server is None else ("server" if server else "cloud"),
        "incidents": IncidentRules(**incidents),
        "bot_pattern": settings.bot_pattern,
    }
    if points_field or settings.jira_points_fields:
        options["points_fields"] = points_field or settings.jira_points_fields
    connector = JiraConnector(jira_config(options))
    started = time.monotonic()
    with (
        interruptible(),
        database(settings) as engine,
        sync_lock(settings, engine, connector.source),
        SyncProgress(connector.source) as report,
    ):
        result = run_sync(engine, connector, progress=report)
    info(summary(result, time.monotonic() - started))


def jira_config(options: dict[str, Any]) -> JiraConfig:
    """The connector config, or one line saying what is wrong with the options."""
    if not options["url"]:
        raise InputError("a Jira site is needed: --url, or DIOGEN_JIRA_URL")
    if not options["token"]:
        raise InputError("a Jira token is needed: --token, or DIOGEN_JIRA_TOKEN")
    try:
        return JiraConfig(**options)
    except ValidationError as exc:
        raise InputError(f"invalid Jira options: {validation_problems(exc)}") from exc


def summary(result: SyncResult, seconds: float) -> str:
    return summary_line(result, SHOWN, seconds)


def summary_line(result: SyncResult, shown: tuple[tuple[str, str], ...], seconds: float) -> str:
    """'source: 3 issues, …, 12 requests (1.2 s)', the counters `shown` as they are named."""
    s = result.summary
    parts = [f"{s.get(key, 0)} {label}" for key, label in shown]
    parts.append(f"{s.get('requests', 0)} requests")
    line = f"{result.source}: " + ", ".join(parts)
    if result.rejected:
        line += f", {result.rejected} records rejected (kept in quarantine)"
    return line + f" ({seconds:.1f} s)"

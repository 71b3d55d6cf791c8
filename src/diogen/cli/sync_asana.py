"""`diogen sync asana`: Asana projects' sections and tasks with their whole story."""

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
from diogen.cli.sync_trackers import summary_line
from diogen.connectors.asana import AsanaConfig, AsanaConnector
from diogen.connectors.asana.config import API_URL, POINTS_FIELD
from diogen.errors import InputError, validation_problems
from diogen.ingest.runner import run_sync
from diogen.processing.locks import sync_lock

SHOWN = (
    ("projects", "projects"),
    ("sections", "sections"),
    ("tasks", "tasks"),
    ("stories", "stories"),
)


@sync_app.command("asana")
def sync_asana(
    project: Annotated[
        list[str] | None,
        typer.Option("--project", metavar="GID", help="A project, by its gid (repeat)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            metavar="TOKEN",
            envvar="DIOGEN_ASANA_TOKEN",
            help="A personal access token (default: DIOGEN_ASANA_TOKEN).",
            show_default=False,
            show_envvar=False,
        ),
    ] = None,
    points_field: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help=f"The number custom field holding story points (default: {POINTS_FIELD!r}).",
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[str, typer.Option(metavar="URL", help="The API root.")] = API_URL,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Sync Asana: projects, sections (the statuses), and tasks with their stories: section
    moves, completion, assignees, story points."""
    settings = settings_for(db, config)
    stored_token = settings.asana_token.get_secret_value() if settings.asana_token else None
    options: dict[str, Any] = {
        "projects": project or settings.asana_projects,
        "token": token or stored_token,
        "points_field": points_field or settings.asana_points_field or POINTS_FIELD,
        "api_url": api_url,
        "bot_pattern": settings.bot_pattern,
    }
    connector = AsanaConnector(asana_config(options))
    started = time.monotonic()
    with (
        interruptible(),
        database(settings) as engine,
        sync_lock(settings, engine, connector.source),
        SyncProgress(connector.source) as report,
    ):
        result = run_sync(engine, connector, progress=report)
    info(summary_line(result, SHOWN, time.monotonic() - started))


def asana_config(options: dict[str, Any]) -> AsanaConfig:
    """The connector config, or one line saying what is wrong with the options."""
    if not options["token"]:
        raise InputError("an Asana token is needed: --token, or DIOGEN_ASANA_TOKEN")
    if not options["projects"]:
        raise InputError("give at least one project: --project GID")
    try:
        return AsanaConfig(**options)
    except ValidationError as exc:
        raise InputError(f"invalid Asana options: {validation_problems(exc)}") from exc

"""`diogen sync linear`: a Linear workspace's teams, cycles, projects and issues with their
whole history."""

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
from diogen.connectors.linear import LinearConfig, LinearConnector
from diogen.connectors.linear.config import API_URL
from diogen.errors import InputError, validation_problems
from diogen.ingest.runner import run_sync
from diogen.processing.locks import sync_lock

SHOWN = (
    ("teams", "teams"),
    ("cycles", "cycles"),
    ("projects", "projects"),
    ("issues", "issues"),
    ("changes", "history entries"),
)


@sync_app.command("linear")
def sync_linear(
    team: Annotated[
        list[str] | None,
        typer.Option("--team", metavar="KEY", help="A team, by its key, e.g. ENG (repeat)."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            metavar="KEY",
            envvar="DIOGEN_LINEAR_API_KEY",
            help="A personal API key (lin_api_…) or an OAuth token "
            "(default: DIOGEN_LINEAR_API_KEY).",
            show_default=False,
            show_envvar=False,
        ),
    ] = None,
    api_url: Annotated[
        str,
        typer.Option(metavar="URL", help="The GraphQL endpoint."),
    ] = API_URL,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Sync Linear: teams (workflow states, labels), cycles as sprints, projects, and issues
    with their whole history: status transitions, cycle scope changes, estimates, assignees."""
    settings = settings_for(db, config)
    stored_key = settings.linear_api_key.get_secret_value() if settings.linear_api_key else None
    options: dict[str, Any] = {
        "teams": team or settings.linear_teams,
        "api_key": api_key or stored_key,
        "api_url": api_url,
        "bot_pattern": settings.bot_pattern,
    }
    parsed = linear_config(options)
    started = time.monotonic()
    with interruptible(), database(settings) as engine:
        connector = LinearConnector(parsed)
        with (
            sync_lock(settings, engine, connector.source),
            SyncProgress(connector.source) as report,
        ):
            result = run_sync(engine, connector, progress=report)
    info(summary_line(result, SHOWN, time.monotonic() - started))


def linear_config(options: dict[str, Any]) -> LinearConfig:
    """The connector config, or one line saying what is wrong with the options."""
    if not options["api_key"]:
        raise InputError("a Linear API key is needed: --api-key, or DIOGEN_LINEAR_API_KEY")
    if not options["teams"]:
        raise InputError("give at least one team: --team KEY")
    try:
        return LinearConfig(**options)
    except ValidationError as exc:
        raise InputError(f"invalid Linear options: {validation_problems(exc)}") from exc

"""The Typer application and the options every command shares."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import Engine

from diogen.config import Settings, load_settings
from diogen.db import make_engine
from diogen.migrations import upgrade

app = typer.Typer(
    name="diogen",
    help="DORA and flow metrics you can explain, from the data your teams already produce.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
sync_app = typer.Typer(help="Collect data from a source.", no_args_is_help=True)
metrics_app = typer.Typer(help="Compute metrics.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sync_app, name="sync")
app.add_typer(metrics_app, name="metrics")

# Names and paths are printed as they are: no markup, no emoji codes.
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        metavar="URL",
        help="Database URL (default: DIOGEN_DATABASE_URL, the config file, sqlite:///./diogen.db).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Config file (default: ./diogen.toml when present).",
        show_default=False,
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


RepoOption = Annotated[
    str | None,
    typer.Option(
        "--repo",
        metavar="NAME",
        help="One repository by name (default: the whole organisation, every repository).",
        show_default=False,
    ),
]


OrgOption = Annotated[
    str | None,
    typer.Option(
        "--org",
        metavar="NAME",
        help="One organisation by name; with --team, --repo or --service, the one they are in.",
        show_default=False,
    ),
]
TeamOption = Annotated[
    str | None,
    typer.Option(
        "--team",
        metavar="NAME",
        help="One team and its sub-teams: changes by its members at the time of each change.",
        show_default=False,
    ),
]
ServiceOption = Annotated[
    str | None,
    typer.Option(
        "--service",
        metavar="NAME",
        help="One service: its deployments, and changes under its paths in a monorepo.",
        show_default=False,
    ),
]


def settings_for(database: str | None, config: Path | None, **overrides: Any) -> Settings:
    """Settings for one command: its options over environment over config file."""
    return load_settings(config, database_url=database, **overrides)


@contextmanager
def database(settings: Settings, *, migrate: bool = True) -> Iterator[Engine]:
    """An engine on the configured database, migrated to the current schema unless told not to."""
    engine = make_engine(settings.database_url)
    try:
        if migrate:
            upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C during long work: say what state it left, exit 130 (Typer would exit silently)."""
    try:
        yield
    except KeyboardInterrupt:
        info("interrupted: what was committed is kept; run the command again to go on")
        raise typer.Exit(130) from None


def info(message: str) -> None:
    """A line of progress or summary for a person, on stderr so stdout stays machine-readable."""
    err.print(message)


def is_interactive() -> bool:
    return sys.stderr.isatty()

"""`diogen db ...`: create, upgrade and inspect the database schema."""

from __future__ import annotations

import typer
from rich.markup import escape
from sqlalchemy.engine import make_url

from diogen.cli.app import ConfigOption, DatabaseOption, db_app, info, settings_for
from diogen.cli.app import database as open_database
from diogen.migrations import current_revision, head_revision, known_revisions, upgrade


@db_app.command("upgrade")
def upgrade_command(database: DatabaseOption = None, config: ConfigOption = None) -> None:
    """Create the database schema, or bring it up to date with this version of Diogen."""
    settings = settings_for(database, config)
    with open_database(settings, migrate=False) as engine:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    # info() prints rich markup, and a path may well contain [brackets].
    shown = escape(_shown(settings.database_url))
    if before == after:
        info(f"database {shown} at revision {after} (head), nothing to do")
    else:
        info(f"database {shown} at revision {after} (head), upgraded from {before or 'empty'}")


@db_app.command("current")
def current_command(database: DatabaseOption = None, config: ConfigOption = None) -> None:
    """Show the database's schema revision and the one this version of Diogen expects."""
    settings = settings_for(database, config)
    with open_database(settings, migrate=False) as engine:
        current = current_revision(engine)
    head = head_revision()
    if current == head:
        state = "(head)"
    elif current is None:
        state = "(empty: run `diogen db upgrade`)"
    elif current not in known_revisions():
        state = f"(unknown here, head is {head}: a newer Diogen wrote it)"
    else:
        state = f"(head is {head}: run `diogen db upgrade`)"
    typer.echo(f"database {_shown(settings.database_url)} at revision {current or '-'} {state}")


def _shown(url: str) -> str:
    """The URL as the user gave it, without its password."""
    return make_url(url).render_as_string(hide_password=True)

"""Alembic's entry point, run for every Alembic command.

At run time `diogen.migrations.upgrade` passes its own connection, already inside the locked
migration transaction, in `config.attributes["connection"]`. From the `alembic` command line
(see alembic.ini) there is none, so one is opened here the same way.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import JSONB

from diogen.config import load_settings
from diogen.db import UTCDateTime, make_engine
from diogen.migrations import migration_transaction, target_metadata


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types so that the migration file imports and means the same.

    UTCDateTime is written as the column type it creates: the decorator only converts values in
    Python, and a migration naming it would break the day it moved. JSONB is written without
    Alembic's default `astext_type=Text()`, which names a `Text` the file never imports.
    """
    if kind != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, JSONB):
        if autogen_context.imports is not None:
            autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "postgresql.JSONB()"
    return False


OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata(),
    # Batch operations run as plain ALTERs on PostgreSQL and as table copies on SQLite, which
    # cannot alter most things in place: one migration file serves both.
    "render_as_batch": True,
    "render_item": render_item,
    "compare_type": True,
}


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_from_command_line() -> None:
    config = context.config
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with migration_transaction(engine) as connection:
            run_on(connection)
    finally:
        engine.dispose()


given = context.config.attributes.get("connection")
if isinstance(given, Connection):
    run_on(given)
else:
    run_from_command_line()

"""Schema migrations: `upgrade` brings any Diogen database to the schema this version expects.

Alembic is configured in code and runs on the caller's engine; no alembic.ini is read at run
time. `upgrade` runs at the start of every CLI command, so the up-to-date case is answered with
a plain look at `alembic_version` and never imports Alembic, whose import alone costs a
tenth of a second. That is why the newest revision is also written down here as `HEAD`.

Adding a migration: see the comment at the top of `alembic.ini` in this directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from diogen.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0017"
"""The newest revision in versions/. Bump it with every new migration; a test checks it."""

VERSION_TABLE = "alembic_version"
SCRIPT_LOCATION = Path(__file__).parent
# Any constant works; it only has to be the same in every Diogen process.
_PG_LOCK_KEY = 0x64696F67656E  # "diogen"


def head_revision() -> str:
    """The schema revision this version of Diogen writes and expects."""
    return HEAD


def known_revisions() -> set[str]:
    """Every revision this version of Diogen can upgrade from."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return {script.revision for script in scripts.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, or None when it has no Diogen schema yet."""
    try:
        with engine.connect() as connection:
            return read_revision(connection)
    except SQLAlchemyError as exc:
        raise StorageError(
            f"cannot read the schema revision of {_shown(engine)}: {_reason(exc)}"
        ) from exc


def upgrade(engine: Engine) -> None:
    """Migrate the database to `HEAD`; two small queries and no Alembic when it is there already.

    Raises StorageError when the database was written by a newer Diogen or a migration fails.
    """
    if current_revision(engine) == HEAD:
        return
    try:
        with migration_transaction(engine) as connection:
            _upgrade_locked(connection)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot upgrade database {_shown(engine)}: {_reason(exc)}") from exc


def target_metadata() -> MetaData:
    """Every table Diogen owns. A module defining tables must be imported here to be migrated."""
    import diogen.accounts.models
    import diogen.bus.models
    import diogen.ingest.models
    import diogen.processing.models
    import diogen.sources.models  # noqa: F401 - each registers its tables on Base
    from diogen.silver import Base

    return Base.metadata


def read_revision(connection: Connection) -> str | None:
    """The revision stamped in `connection`'s database (its current schema on PostgreSQL)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
    found = sorted(versions)
    if len(found) > 1:
        raise StorageError(
            f"database has several schema revisions ({', '.join(found)}); "
            "Diogen migrations are linear, so it was not written by Diogen"
        )
    return found[0] if found else None


@contextmanager
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding a lock that makes concurrent migrations wait for each other."""
    if engine.dialect.name == "sqlite":
        with _sqlite_migration_transaction(engine) as connection:
            yield connection
        return
    with engine.begin() as connection:
        # Two processes starting on an empty database would otherwise both create the tables.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        yield connection


@contextmanager
def _sqlite_migration_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        # Batch migrations copy and drop tables; with foreign keys on, the drop would cascade
        # into child rows. SQLite ignores this pragma inside a transaction, so it comes first.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                # pysqlite opens no transaction before DDL on its own; IMMEDIATE also takes the
                # write lock, so a second process waits instead of racing to create tables.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
                _check_foreign_keys(connection)
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise StorageError(
            f"migration would leave {len(broken)} rows with dangling foreign keys "
            f"(first in table {broken[0][0]}); nothing was changed"
        )


def _upgrade_locked(connection: Connection) -> None:
    from alembic import command
    from alembic.util import CommandError

    # Read again under the lock: another process may have just finished the same upgrade.
    current = read_revision(connection)
    if current == HEAD:
        return
    if current is not None and current not in known_revisions():
        raise StorageError(
            f"database is at schema revision {current!r}, which this Diogen does not know "
            f"(its newest is {HEAD!r}): it was written by a newer Diogen, so upgrade Diogen"
        )
    if current is None:
        _refuse_unversioned_tables(connection)
    try:
        command.upgrade(alembic_config(connection), "head")
    except CommandError as exc:
        raise StorageError(f"cannot upgrade database: {_reason(exc)}") from exc


def _refuse_unversioned_tables(connection: Connection) -> None:
    existing = set(inspect(connection).get_table_names()) & set(target_metadata().tables)
    if existing:
        raise StorageError(
            f"database has Diogen tables ({', '.join(sorted(existing)[:3])}, ...) but no schema "
            "revision, so it was not created by `diogen db upgrade`; use a new database"
        )


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for our scripts, running on `connection` when one is given."""
    from alembic.config import Config

    config = Config(attributes={"connection": connection} if connection is not None else {})
    # Config values go through ConfigParser interpolation, where % is special.
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _reason(exc: Exception) -> str:
    """The first line of what went wrong, without SQLAlchemy's statement and link dump."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


__all__ = [
    "HEAD",
    "alembic_config",
    "current_revision",
    "head_revision",
    "known_revisions",
    "migration_transaction",
    "read_revision",
    "target_metadata",
    "upgrade",
]

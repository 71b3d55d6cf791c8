"""Migrations build exactly the models' schema, on SQLite and PostgreSQL, and `db upgrade` works."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, inspect, select, text
from sqlalchemy.orm import Session
from test_metrics_support import Silver

from diogen.db import make_engine, session_scope
from diogen.errors import StorageError
from diogen.ids import stable_id
from diogen.ingest.models import SyncRun
from diogen.metrics.gold import log_new_whole
from diogen.migrations import (
    HEAD,
    alembic_config,
    current_revision,
    head_revision,
    migration_transaction,
    target_metadata,
    upgrade,
)
from diogen.silver import Organization
from diogen.silver.gold import GoldChangeLog

DIOGEN = Path(sys.executable).parent / "diogen"
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/test"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`diogen ARGS` in `cwd`, away from any diogen.toml or DIOGEN_* variable of the caller."""
    # COLUMNS keeps rich from wrapping a long database URL over two lines.
    env = {"PATH": str(DIOGEN.parent), "COLUMNS": "1000", "HOME": str(Path.home())}
    return subprocess.run(
        [str(DIOGEN), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
        check=False,
    )


def upgrade_command(database_url: str, then: str = "") -> list[str]:
    """A command that runs `upgrade` on `database_url` in a fresh interpreter, then `then`."""
    code = (
        "import sys\n"
        "from diogen.db import make_engine\n"
        "from diogen.migrations import upgrade\n"
        f"upgrade(make_engine({database_url!r}))\n"
        f"{then}\n"
    )
    return [sys.executable, "-c", code]


def test_head_constant_is_the_newest_script() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == [HEAD], f"set diogen.migrations.HEAD to the newest revision, {heads}"
    assert head_revision() == HEAD


def test_upgrade_creates_every_table(engine: Engine) -> None:
    assert current_revision(engine) is None

    upgrade(engine)

    tables = set(inspect(engine).get_table_names())
    assert tables == set(target_metadata().tables) | {"alembic_version"}
    assert current_revision(engine) == HEAD


def test_version_table_stays_in_the_schema_of_the_url(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        found = connection.execute(
            text(
                "SELECT table_schema FROM information_schema.tables"
                " WHERE table_name = 'alembic_version' AND table_schema IN (:schema, 'public')"
            ),
            {"schema": schema},
        ).scalars()
        assert list(found) == [schema]
    engine.dispose()


def test_migrations_match_the_models(engine: Engine) -> None:
    upgrade(engine)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, target_metadata())

    assert differences == []


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    org_id = stable_id("test", "organization", "acme")
    with session_scope(engine) as session:
        session.add(Organization(id=org_id, name="acme", source="test"))

    upgrade(engine)

    assert current_revision(engine) == HEAD
    with session_scope(engine) as session:
        assert session.scalars(select(Organization.name)).all() == ["acme"]


def test_up_to_date_check_never_loads_alembic(database_url: str, engine: Engine) -> None:
    upgrade(engine)
    result = subprocess.run(
        upgrade_command(database_url, then="print('alembic' in sys.modules)"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_unknown_revision_is_a_storage_error(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(StorageError, match=r"'9999'.*newer Diogen") as caught:
        upgrade(engine)

    assert "\n" not in str(caught.value)
    assert current_revision(engine) == "9999"


def test_a_failed_upgrade_changes_nothing(engine: Engine) -> None:
    # An index name the last migrated table needs, taken first, fails the upgrade near its end.
    late_index = next(
        ix.name for t in reversed(target_metadata().sorted_tables) for ix in t.indexes
    )
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE squatter (x INTEGER)"))
        connection.execute(text(f"CREATE INDEX {late_index} ON squatter (x)"))

    with pytest.raises(StorageError, match="cannot upgrade database") as caught:
        upgrade(engine)

    assert "\n" not in str(caught.value)
    assert set(inspect(engine).get_table_names()) == {"squatter"}
    assert current_revision(engine) is None


def test_tables_without_a_revision_are_refused(engine: Engine) -> None:
    target_metadata().tables["organization"].create(engine)

    with pytest.raises(StorageError, match="no schema revision"):
        upgrade(engine)


def test_cli_upgrade_and_current(database_url: str, tmp_path: Path) -> None:
    first = run_cli("db", "upgrade", "--database", database_url, cwd=tmp_path)
    again = run_cli("db", "upgrade", "--database", database_url, cwd=tmp_path)
    current = run_cli("db", "current", "--database", database_url, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert f"at revision {HEAD} (head), upgraded from empty" in first.stderr
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stderr
    assert current.returncode == 0, current.stderr
    assert f"at revision {HEAD} (head)" in current.stdout


def test_concurrent_first_upgrades_wait_for_each_other(database_url: str, engine: Engine) -> None:
    runs = [
        subprocess.Popen(upgrade_command(database_url), stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [run.communicate(timeout=60)[1] for run in runs]

    assert [run.returncode for run in runs] == [0, 0, 0], errors
    assert current_revision(engine) == HEAD


def test_cli_current_leaves_an_empty_database_empty(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    result = run_cli("db", "current", "--database", database_url, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "at revision - (empty" in result.stdout
    assert current_revision(engine) is None


def test_cli_unreachable_database_is_one_error_line(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", "--database", UNREACHABLE, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1


def test_migrated_timestamps_come_back_aware_and_equal(engine: Engine) -> None:
    upgrade(engine)
    started = datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(engine) as session:
        session.add(SyncRun(id="run", source="test", started_at=started, status="ok"))

    with session_scope(engine) as session:
        stored = session.scalars(select(SyncRun.started_at)).one()

    assert stored == started
    assert stored.tzinfo == UTC


def logs_keys_of_a_repository_logged_whole(engine: Engine) -> bool:
    with Session(engine) as session:
        silver = Silver(session)
        repository = silver.repo("api")
        session.execute(delete(GoldChangeLog))
        log_new_whole(session, [repository])
        silver.commit(repository, "aaaa1111", "2024-01-02T00:00")
        kinds = set(session.scalars(select(GoldChangeLog.kind)))
        session.rollback()
    return kinds != {"repository"}


def test_0014_skips_keys_of_repositories_logged_whole_on_sqlite_only(engine: Engine) -> None:
    upgrade(engine)
    on_postgresql = engine.dialect.name == "postgresql"
    assert logs_keys_of_a_repository_logged_whole(engine) == on_postgresql

    with migration_transaction(engine) as connection:
        command.downgrade(alembic_config(connection), "0013")
    indexes = {index["name"] for index in inspect(engine).get_indexes("gold_change_log")}
    assert "ix_gold_change_log_whole" not in indexes
    assert logs_keys_of_a_repository_logged_whole(engine)

    upgrade(engine)
    assert logs_keys_of_a_repository_logged_whole(engine) == on_postgresql

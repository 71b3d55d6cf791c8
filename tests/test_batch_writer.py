"""The batch writer: jobs in order, each in its own transaction; a failure stops everything."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from diogen.db import make_engine
from diogen.ingest.writer import BatchWriter


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE log (n INTEGER)"))
    return engine


def insert(n: int):  # type: ignore[no-untyped-def]
    def job(session: Session) -> None:
        session.execute(text("INSERT INTO log (n) VALUES (:n)"), {"n": n})

    return job


def logged(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT n FROM log ORDER BY n")).scalars())


def test_jobs_are_written_in_order(engine: Engine) -> None:
    writer = BatchWriter(engine)
    for n in range(5):
        writer.submit(insert(n))
    writer.close()
    assert logged(engine) == [0, 1, 2, 3, 4]


def test_a_failed_job_is_rolled_back_and_raised(engine: Engine) -> None:
    writer = BatchWriter(engine)
    writer.submit(insert(1))

    def broken(session: Session) -> None:
        session.execute(text("INSERT INTO log (n) VALUES (2)"))
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))

    writer.submit(broken)
    writer.submit(insert(3))  # after a failure nothing more is written
    with pytest.raises(Exception, match="no_such_table"):
        writer.close()
    assert logged(engine) == [1]


def test_the_connection_goes_back_to_the_pool_with_foreign_keys_on(engine: Engine) -> None:
    writer = BatchWriter(engine)
    writer.submit(insert(1))
    writer.close()
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert logged(engine) == [1]

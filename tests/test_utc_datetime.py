"""`UTCDateTime` on SQLite converts with its own functions: the stored text must stay what
SQLAlchemy's DATETIME writes (existing databases hold it, and SQLite compares it as text), and
reading it back must give the same aware UTC instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects import sqlite

from diogen.db import UTCDateTime, make_engine

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES
)


@given(MOMENTS)
def test_stored_text_is_sqlalchemys(moment: datetime) -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    assert ours is not None and theirs is not None
    assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))


@given(MOMENTS, MOMENTS)
def test_a_time_written_again_is_written_alike(first: datetime, second: datetime) -> None:
    """The last conversion is remembered (a batch repeats its fetch time on every row)."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    assert ours is not None and theirs is not None
    for moment in (first, first, None, second, first, second):
        expected = None if moment is None else theirs(moment.astimezone(UTC).replace(tzinfo=None))
        assert ours(moment) == expected


@given(MOMENTS)
def test_read_back_is_the_same_instant_in_utc(moment: datetime) -> None:
    dialect = sqlite.dialect()
    write = UTCDateTime().bind_processor(dialect)
    read = UTCDateTime().result_processor(dialect, None)
    assert write is not None and read is not None
    back = read(write(moment))
    assert back == moment and back.tzinfo is UTC


def test_naive_times_are_refused() -> None:
    write = UTCDateTime().bind_processor(sqlite.dialect())
    assert write is not None
    with pytest.raises(ValueError, match="naive datetime"):
        write(datetime(2024, 1, 1))


@settings(max_examples=25)
@given(moment=MOMENTS)
def test_round_trip_through_a_database(
    tmp_path_factory: pytest.TempPathFactory, moment: datetime
) -> None:
    path = Path(tmp_path_factory.mktemp("utc")) / "times.db"
    engine = make_engine(f"sqlite:///{path}")
    table = Table(
        "times", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime())
    )
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table).values(id=1, at=moment))
        assert connection.scalar(select(table.c.at)) == moment
        assert connection.scalar(text("SELECT typeof(at) FROM times")) == "text"
    engine.dispose()

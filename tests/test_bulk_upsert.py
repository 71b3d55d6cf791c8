"""The upsert every writer uses: the same rows give the same table whichever path writes them
(SQLite's executemany, PostgreSQL's executemany for few rows, COPY for many), including keys
repeated within one call, protected rows and failures raised as SQLAlchemy errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DataError, IntegrityError

from diogen.connectors.git.normalize import normalize_repository
from diogen.db import make_engine, session_scope, upsert
from diogen.migrations import upgrade
from diogen.pgupsert import COPY_MIN_ROWS, merge_by_key
from diogen.silver import Commit, Identity, Person
from diogen.silver.base import table_of

PERSON = table_of(Person)
IDENTITY = table_of(Identity)
COMMIT = table_of(Commit)
T0 = datetime(2024, 3, 1, tzinfo=UTC)
REPOSITORY = {"name": "r", "default_branch": "main", "location": "/r"}


def person(n: int, name: str) -> dict[str, Any]:
    return {
        "id": f"p{n:04}",
        "display_name": name,
        "primary_email": f"p{n}@example.com",
        "is_bot": False,
    }


def identity(n: int, person_id: str, name: str, locked: bool = False) -> dict[str, Any]:
    return {
        "id": f"i{n:04}",
        "person_id": person_id,
        "provider": "git",
        "key": f"p{n}@example.com",
        "source": "git",
        "external_id": f"p{n}@example.com",
        "url": None,
        "login": None,
        "email": f"p{n}@example.com",
        "name": name,
        "is_bot": False,
        "person_locked": locked,
    }


def people(count: int) -> list[dict[str, Any]]:
    return [person(n, f"Person {n}") for n in range(count)]


@pytest.mark.parametrize("count", [3, COPY_MIN_ROWS + 50])
def test_repeated_keys_end_as_written_one_after_the_other(database_url: str, count: int) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    rows = people(count)
    with session_scope(engine) as session:
        upsert(session, PERSON, rows, update=())
        # Updated twice in one call: the last value of the update columns wins; with
        # update=() the stored row stays.
        identities = [identity(n, row["id"], "first") for n, row in enumerate(rows)]
        identities += [identity(n, row["id"], "second") for n, row in enumerate(rows)]
        upsert(session, IDENTITY, identities, update=("name",), protect="person_locked")
        upsert(session, PERSON, [person(0, "renamed"), person(0, "again")], update=())
    with session_scope(engine) as session:
        names = set(session.scalars(select(Identity.name)))
        first_person = session.get(Person, "p0000")
        assert first_person is not None
        assert names == {"second"}
        assert first_person.display_name == "Person 0"
        assert session.scalar(select(text("count(*)")).select_from(IDENTITY)) == count


@pytest.mark.parametrize("count", [3, COPY_MIN_ROWS + 50])
def test_protected_rows_are_left_alone(database_url: str, count: int) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    rows = people(count)
    with session_scope(engine) as session:
        upsert(session, PERSON, rows, update=())
        upsert(
            session,
            IDENTITY,
            [identity(n, r["id"], "kept", locked=n % 2 == 0) for n, r in enumerate(rows)],
        )
    with session_scope(engine) as session:
        upsert(
            session,
            IDENTITY,
            [identity(n, r["id"], "new", locked=False) for n, r in enumerate(rows)],
            update=("name", "person_locked"),
            protect="person_locked",
        )
    with session_scope(engine) as session:
        found = {i: name for i, name in session.execute(select(Identity.id, Identity.name))}
    assert found == {f"i{n:04}": "kept" if n % 2 == 0 else "new" for n in range(count)}


def commit_row(n: int, identity_id: str, sha: str | None = None) -> dict[str, Any]:
    return {
        "id": f"c{n:05}",
        "repository_id": "r1",
        "sha": sha or f"{n:040x}",
        "parents": "",
        "author_identity_id": identity_id,
        "committer_identity_id": identity_id,
        "author_name": "A",
        "author_email": "a@example.com",
        "committer_name": "A",
        "committer_email": "a@example.com",
        "authored_at": T0 + timedelta(minutes=n),
        "author_tz_offset": 60,
        "committed_at": T0 + timedelta(minutes=n),
        "committer_tz_offset": 60,
        "subject": "s",
        "message": "s\n\nbody",
        "additions": n,
        "deletions": None,
        "files_changed": 1,
        "is_merge": False,
        "reachable": True,
    }


@pytest.mark.parametrize("count", [3, COPY_MIN_ROWS + 50])
def test_failures_are_sqlalchemy_errors_and_roll_back(postgres_url: str, count: int) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    with session_scope(engine) as session:
        upsert(session, PERSON, [person(0, "A")])
        upsert(session, IDENTITY, [identity(0, "p0000", "A")])
        repository = next(normalize_repository("r1", REPOSITORY))
        upsert(session, repository.table, [repository.values])
    orphans = [commit_row(n, "i-missing") for n in range(count)]
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        upsert(session, COMMIT, orphans)
    too_long = [commit_row(n, "i0000") for n in range(count)]
    too_long[-1]["sha"] = "x" * 65
    with pytest.raises(DataError), session_scope(engine) as session:
        upsert(session, COMMIT, too_long)
    good = [commit_row(n, "i0000") for n in range(count)]
    with session_scope(engine) as session:
        upsert(session, COMMIT, good)
        upsert(session, COMMIT, good)  # twice in one transaction: a second staging table
    with session_scope(engine) as session:
        stored = session.scalars(select(Commit).order_by(Commit.id)).all()
        staging = session.scalar(
            text("SELECT count(*) FROM pg_class WHERE relname LIKE '\\_upsert\\_%'")
        )
    assert [(c.id, c.additions, c.authored_at) for c in stored] == [
        (r["id"], r["additions"], r["authored_at"]) for r in good
    ]
    assert staging == 0  # dropped at commit


def test_merge_keeps_key_order_and_first_row_when_protected() -> None:
    rows = [
        {"id": "b", "v": 1, "locked": False},
        {"id": "a", "v": 2, "locked": True},
        {"id": "a", "v": 3, "locked": False},
        {"id": "b", "v": 4, "locked": False},
    ]
    merged = merge_by_key(rows, ["id"], ["v", "locked"], "locked")
    assert merged == [
        {"id": "a", "v": 2, "locked": True},
        {"id": "b", "v": 4, "locked": False},
    ]


def test_merge_orders_keys_with_none_after_every_value() -> None:
    rows = [{"a": a, "b": b} for a, b in [("y", None), (None, "x"), ("y", "x"), ("x", "z")]]
    merged = merge_by_key(rows, ["a", "b"], [], None)
    assert [(r["a"], r["b"]) for r in merged] == [("x", "z"), ("y", "x"), ("y", None), (None, "x")]

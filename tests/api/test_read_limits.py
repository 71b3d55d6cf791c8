"""A read's statements end with the read, on the real PostgreSQL: they are limited to
`read_timeout_seconds` (answered 504), writes are not, and a client that disconnects has its
statement cancelled. A statement is made to take long by a lock the test holds on its table.
On SQLite (no timeout, no locks that stop readers) the interrupt, with a statement that runs
long by itself."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import copy_context
from typing import Any

import pytest
import uvicorn
from api_support import NOW, World, make_world, seed, settings_for
from sqlalchemy import Connection

from diogen.api import create_app
from diogen.api.statements import ClientGone, reading, watch
from diogen.db import make_engine

V = "/api/v1"


@contextmanager
def world_on(postgres_url: str, **settings: Any) -> Iterator[World]:
    made = make_world(postgres_url, **settings)
    try:
        yield made
    finally:
        made.close()


@contextmanager
def deployments_locked(world: World) -> Iterator[Connection]:
    """The deployment table locked by a transaction of the test's, until the block ends."""
    with world.engine.connect() as holder:
        holder.exec_driver_sql("LOCK TABLE deployment IN ACCESS EXCLUSIVE MODE")
        yield holder
        holder.rollback()


def blocked_by(holder: Connection) -> int:
    """How many backends wait for the lock `holder` holds."""
    with holder.engine.connect() as observer:
        return int(
            observer.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE pg_blocking_pids(pid) @> ARRAY[%(holder)s]::int[]",
                {"holder": holder.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()},
            ).scalar_one()
        )


def test_read_connections_are_limited_and_write_connections_are_not(postgres_url: str) -> None:
    with world_on(postgres_url, read_timeout_seconds=2.5) as world:
        with world.state.reader.connect() as reading:
            read_limit = reading.exec_driver_sql("SHOW statement_timeout").scalar_one()
        with world.state.engine.connect() as writing:
            write_limit = writing.exec_driver_sql("SHOW statement_timeout").scalar_one()
    assert (read_limit, write_limit) == ("2500ms", "0")


def test_a_read_over_the_limit_is_a_504_and_a_write_waits_as_long_as_it_takes(
    postgres_url: str,
) -> None:
    with world_on(postgres_url, read_timeout_seconds=0.5) as world:
        with world.session() as session:
            rows = seed(session, world.org_ids["alpha"])
        with deployments_locked(world) as holder:
            started = time.monotonic()
            read = world.get("alpha:viewer", f"{V}/deployments")
            waited = time.monotonic() - started
            # Released a second after the write started waiting, twice the reads' limit.
            threading.Timer(1.0, holder.rollback).start()
            write = world.client.patch(
                f"{V}/deployments/{rows.deployment}",
                json={"marked_failed": True},
                headers=world.headers("alpha:maintainer"),
            )
        after = world.get("alpha:viewer", f"{V}/deployments")

    assert read.status_code == 504, read.text
    assert read.headers["content-type"] == "application/problem+json"
    problem = read.json()
    assert problem["type"] == "urn:diogen:problem:query-timeout"
    assert problem["title"] == "Query timed out"
    assert "read_timeout_seconds" in problem["detail"]
    assert 0.5 <= waited < 5
    assert write.status_code == 200, write.text
    assert write.json()["marked_failed"] is True
    assert after.status_code == 200 and after.json()["items"][0]["marked_failed"] is True


@contextmanager
def served(world: World, postgres_url: str) -> Iterator[int]:
    """Another app on the world's database, served over real HTTP on a free port."""
    app = create_app(settings_for(postgres_url, read_timeout_seconds=120), clock=lambda: NOW)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_client_that_disconnects_has_its_statement_cancelled(postgres_url: str) -> None:
    with world_on(postgres_url) as world, served(world, postgres_url) as port:
        with world.session() as session:
            seed(session, world.org_ids["alpha"])
        with deployments_locked(world) as holder:
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(
                f"GET {V}/deployments HTTP/1.1\r\nHost: test\r\n"
                f"Authorization: Bearer {world.tokens['alpha:viewer']}\r\n\r\n".encode()
            )
            assert wait_until(lambda: blocked_by(holder) == 1, 10), "the read never waited"
            client.close()
            # Cancelled while the lock is still held: nothing else would end it for 120 s.
            assert wait_until(lambda: blocked_by(holder) == 0, 5), "still running"
        with socket.create_connection(("127.0.0.1", port)) as again:
            again.sendall(
                f"GET {V}/deployments HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                f"Authorization: Bearer {world.tokens['alpha:viewer']}\r\n\r\n".encode()
            )
            assert again.recv(64).startswith(b"HTTP/1.1 200")


def test_an_abandoned_reading_interrupts_sqlite_and_refuses_the_next_statement(
    tmp_path: Any,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'diogen.db'}")
    watch(engine)
    # A real statement that would run for minutes: counting to ten billion.
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1e10) "
        "SELECT count(*) FROM n"
    )
    failures: list[BaseException] = []
    try:
        with engine.connect() as connection, reading() as current:

            def run() -> None:
                try:
                    connection.exec_driver_sql(endless)
                except BaseException as exc:  # what the request's thread would raise
                    failures.append(exc)

            # In this context, as FastAPI runs a route in its thread pool.
            worker = threading.Thread(target=copy_context().run, args=(run,), daemon=True)
            worker.start()
            assert wait_until(lambda: current.running, 5)
            current.abandon()
            worker.join(5)
            assert not worker.is_alive()
            with pytest.raises(ClientGone):
                connection.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
    assert len(failures) == 1 and "interrupted" in str(failures[0])

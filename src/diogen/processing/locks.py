"""Named locks shared by every worker, so that one sync (or one reader of the embedded log)
never runs twice at once.

PostgreSQL advisory locks or Redis when configured; on SQLite, file locks beside the database
(one machine is all SQLite serves). Every kind is released when its holder dies: PostgreSQL
drops a dead session's locks, the kernel a dead process's file locks, Redis expires a key its
holder stopped renewing.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import blake2b
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, TextClause, text
from sqlalchemy.exc import DBAPIError

from diogen.config import Settings
from diogen.errors import BusyError
from diogen.ingest.runner import abandon_running, utcnow

REDIS_TTL_SECONDS = 30.0


class Locks(Protocol):
    def acquire(self, name: str) -> bool:
        """Take `name` if free (never waits); True when this process holds it now."""
        ...

    def release(self, name: str) -> None: ...

    def close(self) -> None:
        """Release everything held."""
        ...


def sync_lock_name(source: str) -> str:
    """The lock every sync of `source` holds, scheduled or started by hand."""
    return f"sync:{source}"


@contextmanager
def sync_lock(settings: Settings, engine: Engine, source: str) -> Iterator[None]:
    """Hold `source`'s sync lock for the block, or raise BusyError at once if it is held."""
    if not settings.redis_url and engine.dialect.name == "sqlite" and not _sqlite_file(engine):
        yield  # an in-memory database: no other process can sync into it
        return
    locks = make_locks(settings, engine)
    try:
        if not locks.acquire(sync_lock_name(source)):
            raise BusyError(
                f"{source} is being synced by another process (a worker's scheduled sync or "
                "another diogen sync); try again when it has finished",
                source=source,
            )
        abandon_running(engine, source, utcnow())
        yield
    finally:
        locks.close()


def make_locks(settings: Settings, engine: Engine) -> Locks:
    """Locks for the Diogen whose data is in `engine`'s database (and schema): two Diogens
    sharing a PostgreSQL database or a Redis never take each other's locks."""
    if settings.redis_url:
        return RedisLocks(settings.redis_url, namespace=_namespace(engine))
    if engine.dialect.name == "postgresql":
        return PostgresLocks(engine)
    database = _sqlite_file(engine)
    if database is None:
        raise ValueError("file locks need an SQLite database file")
    return FileLocks(Path(f"{database}.locks"))


def _sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database
    return None if not database or database == ":memory:" else database


class PostgresLocks:
    """Session advisory locks on one connection held open while any lock is held. Their keys
    are per database; the schema is part of each name, as schemas hold separate Diogens."""

    def __init__(self, engine: Engine) -> None:
        self._connection: Connection = engine.connect()
        self._schema = self._connection.execute(text("SELECT current_schema()")).scalar_one()
        self._connection.commit()
        self._guard = threading.Lock()
        self._held: set[str] = set()

    def acquire(self, name: str) -> bool:
        with self._guard:
            try:
                return self._acquire(name)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
            # The session died (a restart, a dropped connection) and every lock with it,
            # perhaps taken by another worker since: start again on a new connection.
            self._held.clear()
            self._connection.rollback()
            return self._acquire(name)

    def _acquire(self, name: str) -> bool:
        if name in self._held:
            # Session locks live as long as the session: check that it still does.
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        got = self._connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": _key(self._schema, name)}
        ).scalar_one()
        self._connection.commit()
        if got:
            self._held.add(name)
        return bool(got)

    def release(self, name: str) -> None:
        with self._guard:
            if name in self._held:
                self._held.discard(name)
                self._run(text("SELECT pg_advisory_unlock(:key)"), key=_key(self._schema, name))

    def close(self) -> None:
        with self._guard:
            self._held.clear()
            # The connection goes back to the pool, where session locks would outlive us.
            self._run(text("SELECT pg_advisory_unlock_all()"))
            self._connection.close()

    def _run(self, statement: TextClause, **values: object) -> None:
        """Run an unlock; on a dead session there is nothing left to unlock."""
        try:
            self._connection.execute(statement, values)
            self._connection.commit()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            self._connection.rollback()


class FileLocks:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._guard = threading.Lock()
        self._held: dict[str, IO[bytes]] = {}

    def acquire(self, name: str) -> bool:
        with self._guard:
            if name in self._held:
                return True
            handle = open(self.directory / f"{_key(name) & 0xFFFFFFFF:08x}.lock", "wb")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            self._held[name] = handle
            return True

    def release(self, name: str) -> None:
        with self._guard:
            handle = self._held.pop(name, None)
            if handle is not None:
                handle.close()

    def close(self) -> None:
        for name in list(self._held):
            self.release(name)


class RedisLocks:
    """Keys set only if absent, with a TTL a background thread renews while they are held."""

    def __init__(self, url: str, *, namespace: str, ttl: float = REDIS_TTL_SECONDS) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._prefix = f"diogen:lock:{namespace}:"
        self._ttl = ttl
        self._token = f"{os.getpid()}:{os.urandom(8).hex()}"
        self._guard = threading.Lock()
        self._held: set[str] = set()
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name="diogen-locks", daemon=True)
        self._renewer.start()

    def acquire(self, name: str) -> bool:
        with self._guard:
            if name in self._held:
                return True
            if self._client.set(
                self._prefix + name, self._token, nx=True, px=int(self._ttl * 1000)
            ):
                self._held.add(name)
                return True
            return False

    def release(self, name: str) -> None:
        with self._guard:
            if name in self._held:
                self._held.discard(name)
                self._client.eval(_RELEASE, 1, self._prefix + name, self._token)

    def close(self) -> None:
        self._stop.set()
        self._renewer.join()
        for name in list(self._held):
            self.release(name)
        self._client.close()

    def _renew(self) -> None:
        while not self._stop.wait(self._ttl / 3):
            with self._guard:
                for name in list(self._held):
                    renewed = self._client.eval(
                        _RENEW, 1, self._prefix + name, self._token, int(self._ttl * 1000)
                    )
                    if not renewed:  # expired while this process stalled: no longer ours
                        self._held.discard(name)


# Compare-and-act, so that a lock that expired and was taken by another worker is left alone.
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)


def _key(*parts: str) -> int:
    """A signed 64-bit number for `parts` (PostgreSQL advisory lock keys are bigints)."""
    joined = "\x1f".join(parts).encode()
    return int.from_bytes(blake2b(joined, digest_size=8).digest(), "big", signed=True)


def _namespace(engine: Engine) -> str:
    """Which Diogen: its database, and on PostgreSQL the schema it lives in."""
    where = engine.url.set(password=None).render_as_string()
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            where += "#" + connection.execute(text("SELECT current_schema()")).scalar_one()
    return f"{_key(where) & 0xFFFFFFFFFFFF:012x}"

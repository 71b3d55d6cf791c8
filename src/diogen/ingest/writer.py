"""A thread that writes batches, in order, while the sync goes on reading and normalising.

SQLite and the PostgreSQL driver do their work without holding the GIL, so writing on a
thread of its own overlaps the database with parsing. The queue is short: memory stays
bounded, and a writer that falls behind slows the reader down rather than piling up batches.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

Job = Callable[[Session], None]
PENDING = 2
_STOP = None


class BatchWriter:
    """Runs each submitted job in its own transaction, on one thread, in submission order."""

    def __init__(self, engine: Engine) -> None:
        self._connection = _bulk_connection(engine)
        self._jobs: queue.Queue[Job | None] = queue.Queue(PENDING)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="diogen-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue `job`; raises at once if an earlier job failed (the sync must stop)."""
        self._raise_failure()
        self._jobs.put(job)

    def close(self, *, raise_failure: bool = True) -> None:
        """Wait for every queued job to be written; raise the first failure."""
        self._jobs.put(_STOP)
        self._thread.join()
        if raise_failure:
            self._raise_failure()

    def _run(self) -> None:
        try:
            while (job := self._jobs.get()) is not _STOP:
                if self._error is None:
                    self._write(job)
        finally:
            _release(self._connection)

    def _write(self, job: Job) -> None:
        session = Session(bind=self._connection, expire_on_commit=False)
        try:
            job(session)
            session.commit()
        except BaseException as exc:  # handed to the reading thread by submit/close
            session.rollback()
            self._error = exc
        finally:
            session.close()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error


def _bulk_connection(engine: Engine) -> Connection:
    """The writer's own connection. On SQLite it skips foreign-key checks, a third of the
    cost of a bulk write: batches write parents before children by construction, and the
    same constraints are enforced by PostgreSQL, where the whole test suite runs too."""
    connection = engine.connect()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    return connection


def _release(connection: Connection) -> None:
    """Back to the pool as the engine made it: the next session on this connection (the
    run's gold refresh, a worker's next batch) must not skip foreign keys and their cascades."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
    connection.close()

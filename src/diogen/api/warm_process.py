"""Where the report warmer computes: in the server's process, or in a child process of its own.

A report is Python holding the GIL for up to seconds. Computed by a thread of the server, even
at a lower priority, it halves what the request threads get: a list of 50 members that takes
0.15 s took 1.3 s while the warmer ran. `diogen serve` therefore computes ahead in a child
process at lower priority (`ChildComputer`), which the server only waits for; the entries it
sends back are stored as they are, neither parsed nor hashed again. Tests compute in process
(`InProcessComputer`), where what is computed can be counted.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from diogen.api.parent import follow
from diogen.api.recipes import Key
from diogen.api.reports import entries
from diogen.db import make_engine

log = logging.getLogger("diogen.api.warmer")
NICENESS = 10
_computer: InProcessComputer | None = None


class Computer(Protocol):
    def __call__(self, keys: list[Key], now: datetime) -> list[tuple[Key, bytes]]:
        """The entries of `keys`, one report and parts of it: each one's key and bytes
        (`reports.entries`)."""

    def close(self) -> None: ...


class InProcessComputer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, keys: list[Key], now: datetime) -> list[tuple[Key, bytes]]:
        with Session(self.engine) as session:
            return entries(session, keys, now)

    def close(self) -> None:
        """Nothing to stop."""


class ChildComputer:
    """One child process, started when first needed (spawned: the server has threads, which a
    fork would copy mid-flight) and again after it died."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.pool: ProcessPoolExecutor | None = None

    def __call__(self, keys: list[Key], now: datetime) -> list[tuple[Key, bytes]]:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child,
                initargs=(self.database_url, os.getpid()),
            )
        try:
            return self.pool.submit(_child_entries, keys, now).result()
        except BrokenProcessPool:
            log.warning("the report warmer's process died; a new one starts with the next report")
            self.pool = None
            raise

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _start_child(database_url: str, server: int) -> None:
    global _computer
    try:
        os.nice(NICENESS)
    except OSError as exc:
        log.info("report warmer's process at normal priority: %s", exc)
    _computer = InProcessComputer(make_engine(database_url))
    # Killed (a worker that hung), the server would leave this process waiting for work
    # forever, holding the server's output open.
    follow(server, lambda: os._exit(0))


def _child_entries(keys: list[Key], now: datetime) -> list[tuple[Key, bytes]]:
    assert _computer is not None, "the child process starts with _start_child"
    return _computer(keys, now)

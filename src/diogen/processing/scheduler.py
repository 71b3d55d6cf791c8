"""Scheduled syncs: every source synced before is synced again when its interval has passed.

The last run's start (sync_run) says when a source is due, so every worker agrees on it and a
restart forgets nothing; a sync asked for (sync_request) after that start makes it due at
once. A worker runs a due sync only while it holds the source's lock, and
checks again under the lock that no other worker has just run it.

Sources are found in silver: git repositories with a location. Other kinds join here when
their sync can be rebuilt from what the database keeps (see docs/pipeline.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from diogen.config import Settings
from diogen.connectors.git import GitConfig, GitConnector
from diogen.db import session_scope
from diogen.ingest.models import SyncRun
from diogen.ingest.runner import RUNNING, SyncResult, abandon_running, run_sync
from diogen.processing.locks import Locks, sync_lock_name
from diogen.processing.registry import kind_of
from diogen.processing.sync_requests import pending_requests
from diogen.silver import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    source: str
    interval: timedelta
    connector: Callable[[], GitConnector]


def interval_for(source: str, settings: Settings) -> timedelta:
    """The source's own interval when configured, else its kind's default."""
    minutes = settings.schedule_minutes.get(source)
    if minutes is None:
        minutes = {
            "git": settings.schedule_commits_minutes,
            "github": settings.schedule_pull_requests_minutes,
        }.get(kind_of(source), settings.schedule_commits_minutes)
    return timedelta(minutes=minutes)


def jobs(session: Session, settings: Settings) -> list[Job]:
    found = []
    rows = session.execute(
        select(Repository.name, Repository.location)
        .where(Repository.provider == "git", Repository.location.is_not(None))
        .order_by(Repository.name)
    )
    for name, location in rows:
        source = f"git:{name}"
        interval = interval_for(source, settings)
        if interval > timedelta(0):
            config = GitConfig(
                location=location,
                name=name,
                release_pattern=settings.effective_release_pattern,
                bot_pattern=settings.bot_pattern,
                jobs=settings.git_jobs,
                cache_dir=settings.cache_dir,
            )
            found.append(Job(source, interval, partial(GitConnector, config)))
    return found


def is_due(session: Session, job: Job, now: datetime) -> bool:
    last = session.scalar(
        select(SyncRun.started_at)
        .where(SyncRun.source == job.source)
        .order_by(SyncRun.started_at.desc())
        .limit(1)
    )
    return last is None or now - last >= job.interval or job.source in pending_requests(session)


def run_due(
    engine: Engine,
    settings: Settings,
    locks: Locks,
    clock: Callable[[], datetime],
    stop: Callable[[], bool],
) -> list[SyncResult]:
    """Run every due sync this worker can lock, one after the other, until told to stop."""
    abandon_dead_runs(engine, locks, clock)
    with session_scope(engine) as session:
        todo = [job for job in jobs(session, settings) if is_due(session, job, clock())]
    results = []
    for job in todo:
        if stop():
            break
        name = sync_lock_name(job.source)
        if not locks.acquire(name):
            continue
        try:
            with session_scope(engine) as session:
                if not is_due(session, job, clock()):
                    continue
            results.append(run_sync(engine, job.connector(), clock=clock))
        except Exception:  # one source's failure is in its sync_run; the others go on
            log.exception("scheduled sync of %s failed", job.source)
        finally:
            locks.release(name)
    return results


def abandon_dead_runs(engine: Engine, locks: Locks, clock: Callable[[], datetime]) -> int:
    """Runs left 'running' by a sync whose process died: abandoned, once their source's sync
    lock is free (a sync still going holds it). How many."""
    with session_scope(engine) as session:
        sources = list(
            session.scalars(select(SyncRun.source).where(SyncRun.status == RUNNING).distinct())
        )
    count = 0
    for source in sorted(sources):
        name = sync_lock_name(source)
        if locks.acquire(name):
            try:
                count += abandon_running(engine, source, clock())
            finally:
                locks.release(name)
    return count

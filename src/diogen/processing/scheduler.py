"""Scheduled syncs: every source synced before is synced again when its interval has passed.

The last run's start (sync_run) says when a source is due, so every worker agrees on it and a
restart forgets nothing; a sync asked for (sync_request) after that start makes it due at
once. A worker runs a due sync only while it holds the source's lock, and
checks again under the lock that no other worker has just run it.

Sources are, first, the stored connections (`diogen.sources`: their options, their encrypted
secrets, their own interval); then git repositories with a location (found in silver) and
hosted sources (GitHub, Jira, Linear, Asana) synced once, rebuilt from their stored
configuration and the secrets of the settings (`hosted_jobs`), unless a connection covers
them. One that cannot be built is reported with the reason (`Plan.refused`) and skipped (see
docs/pipeline.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from diogen.config import Settings
from diogen.connectors.base import Connector
from diogen.connectors.git import GitConfig, GitConnector
from diogen.db import session_scope
from diogen.errors import DiogenError
from diogen.ingest.models import SyncRun
from diogen.ingest.runner import RUNNING, SyncResult, abandon_running, run_sync
from diogen.logs import request_id
from diogen.processing.hosted_jobs import CannotSchedule, rebuild, stored_configs
from diogen.processing.locks import Locks, sync_lock_name
from diogen.processing.registry import kind_of
from diogen.processing.sync_requests import asking_request_id, pending_requests
from diogen.silver import Repository
from diogen.sources.models import SourceConnection
from diogen.sources.service import all_connections, connector_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    source: str
    interval: timedelta
    connector: Callable[[], Connector]


@dataclass
class Plan:
    """The syncs the scheduler can run, and why it cannot run the others (by source)."""

    jobs: list[Job] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    # Connections that name no source yet (a Linear workspace not asked for), by id: why.
    unplaced: dict[str, str] = field(default_factory=dict)


def interval_for(source: str, settings: Settings) -> timedelta:
    """The source's own interval when configured, else its kind's default."""
    minutes = settings.schedule_minutes.get(source)
    if minutes is None:
        minutes = {
            "git": settings.schedule_commits_minutes,
            "github": settings.schedule_pull_requests_minutes,
            "jira": settings.schedule_issues_minutes,
            "linear": settings.schedule_issues_minutes,
            "asana": settings.schedule_issues_minutes,
        }.get(kind_of(source), settings.schedule_commits_minutes)
    return timedelta(minutes=minutes)


def plan(session: Session, settings: Settings, environ: Mapping[str, str] | None = None) -> Plan:
    """Every source's scheduled sync; `environ` holds what the settings do not (GITHUB_TOKEN)."""
    found = Plan()
    covered = connection_jobs(session, settings, found)
    found.jobs += [job for job in git_jobs(session, settings) if job.source not in covered]
    for source, stored in stored_configs(session).items():
        if source in covered:
            continue
        interval = interval_for(source, settings)
        if interval <= timedelta(0):
            continue
        try:
            build = rebuild(source, stored, settings, os.environ if environ is None else environ)
        except CannotSchedule as exc:
            found.refused[source] = str(exc)
            continue
        found.jobs.append(Job(source, interval, build))
    return found


def connection_jobs(session: Session, settings: Settings, found: Plan) -> set[str]:
    """Add the stored connections' jobs (or refusals) to `found`; the sources they cover."""
    covered: set[str] = set()
    for row in all_connections(session):
        if row.source is None:
            found.unplaced[row.id] = _why_not(row, settings) or "it names no source"
            continue
        covered.add(row.source)
        interval = connection_interval(row, settings)
        if interval <= timedelta(0):
            continue
        if not row.enabled:
            found.refused[row.source] = f"connection {row.name!r} is disabled"
            continue
        try:
            build = connector_for(row, settings)
        except DiogenError as exc:  # no secret, a key that cannot open them, bad options
            found.refused[row.source] = str(exc)
            continue
        # The config (SecretStr: masked when shown) is built now, as the hosted jobs' are.
        found.jobs.append(Job(row.source, interval, build))
    return covered


def connection_interval(row: SourceConnection, settings: Settings) -> timedelta:
    if row.interval_minutes is not None:
        return timedelta(minutes=row.interval_minutes)
    return interval_for(row.source or row.kind, settings)


def _why_not(row: SourceConnection, settings: Settings) -> str | None:
    try:
        connector_for(row, settings)
    except DiogenError as exc:
        return str(exc)
    return None


def connection_schedule(plan: Plan, row: SourceConnection) -> str | None:
    """What the scheduler says of a connection: as of its source, or why it has none yet."""
    if row.source is None:
        return f"cannot be scheduled: {plan.unplaced.get(row.id, 'it names no source')}"
    return describe(plan).get(row.source)


def describe(plan: Plan) -> dict[str, str]:
    """Per source, what `diogen status` and GET /sources say of its scheduled syncs."""
    said = {job.source: f"every {_duration(job.interval)}" for job in plan.jobs}
    said.update({source: f"cannot be scheduled: {why}" for source, why in plan.refused.items()})
    return said


def _duration(interval: timedelta) -> str:
    minutes = interval.total_seconds() / 60
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes / 60:g} h"
    return f"{minutes:g} min"


def jobs(session: Session, settings: Settings) -> list[Job]:
    return plan(session, settings).jobs


def git_jobs(session: Session, settings: Settings) -> list[Job]:
    found: list[Job] = []
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
    environ: Mapping[str, str] | None = None,
) -> list[SyncResult]:
    """Run every due sync this worker can lock, one after the other, until told to stop."""
    abandon_dead_runs(engine, locks, clock)
    with session_scope(engine) as session:
        planned = plan(session, settings, environ)
        todo = [job for job in planned.jobs if is_due(session, job, clock())]
    for source, reason in planned.refused.items():
        log.info("%s cannot be scheduled: %s", source, reason)
    results = []
    for job in todo:
        if stop():
            break
        name = sync_lock_name(job.source)
        if not locks.acquire(name):
            continue
        try:
            with session_scope(engine) as session:
                due = is_due(session, job, clock())
                asked_in = asking_request_id(session, job.source) if due else None
            if due:
                results += _run(engine, job, clock, asked_in)
        finally:
            locks.release(name)
    return results


def _run(
    engine: Engine, job: Job, clock: Callable[[], datetime], asked_in: str | None
) -> list[SyncResult]:
    """The sync, logged under the id of the API request that asked for it, if one did; a
    failure is logged and kept in its sync_run, and the other sources go on."""
    token = request_id.set(asked_in)
    try:
        log.info("sync of %s started%s", job.source, " as asked" if asked_in else "")
        result = run_sync(engine, job.connector(), clock=clock)
        log.info("sync of %s finished: %d records", job.source, result.records)
        return [result]
    except Exception:
        log.exception("scheduled sync of %s failed", job.source)
        return []
    finally:
        request_id.reset(token)


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

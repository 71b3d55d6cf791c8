"""What `diogen status` shows, per source, and the same figures as Prometheus metrics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from diogen.bus.base import Bus
from diogen.bus.models import StaleWindow
from diogen.bus.topics import ALL_TOPICS
from diogen.ingest import outbox
from diogen.ingest.models import QuarantinedRecord, SyncCursor, SyncRun
from diogen.ingest.runner import ABANDONED, CONFIG_CURSOR
from diogen.processing import deadletters


@dataclass
class SourceStatus:
    source: str
    last_status: str | None = None
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_records: int = 0
    last_error: str | None = None
    failures_since_success: int = 0
    cursor_updated: datetime | None = None
    unpublished: int = 0
    quarantined: int = 0
    dead_letters: int = 0
    # 'every 30 min', 'cannot be scheduled: <why>', or None: the worker does not sync it.
    schedule: str | None = None


@dataclass
class PipelineStatus:
    bus: str
    group: str
    sources: list[SourceStatus] = field(default_factory=list)
    lag: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    stale_windows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "bus": self.bus,
            "group": self.group,
            "lag": self.lag,
            "dead_letters": self.dead_letters,
            "stale_windows": self.stale_windows,
            "sources": [
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(s).items()}
                for s in self.sources
            ],
        }


def pipeline_status(
    session: Session, bus: Bus, group: str, schedule: Mapping[str, str] | None = None
) -> PipelineStatus:
    """`schedule`: what the scheduler says of each source (`scheduler.describe`)."""
    status = PipelineStatus(bus.kind, group, lag=bus.lag(group, ALL_TOPICS))
    sources: dict[str, SourceStatus] = {}

    def of(source: str) -> SourceStatus:
        return sources.setdefault(source, SourceStatus(source))

    for run in _last_runs(session):
        _add_last_run(of(run.source), run)
    for source, count in _failures_since_success(session):
        of(source).failures_since_success = count
    for source, updated in session.execute(
        select(SyncCursor.source, func.max(SyncCursor.updated_at))
        .where(SyncCursor.stream != CONFIG_CURSOR)
        .group_by(SyncCursor.source)
    ):
        of(source).cursor_updated = updated
    for source, count in outbox.pending_by_source(session).items():
        of(source).unpublished = count
    for source, count in session.execute(
        select(QuarantinedRecord.source, func.count()).group_by(QuarantinedRecord.source)
    ):
        of(source).quarantined = count
    for letter_source, count in deadletters.counts_by_source(session).items():
        status.dead_letters += count
        if letter_source is not None:
            of(letter_source).dead_letters = count
    # A scheduled source never synced yet (a new connection) is listed too.
    for source, said in (schedule or {}).items():
        of(source).schedule = said
    status.stale_windows = session.scalar(select(func.count()).select_from(StaleWindow)) or 0
    status.sources = [sources[name] for name in sorted(sources)]
    return status


# A run whose process died counts as failed.
FAILED = ("failed", ABANDONED)


def _last_runs(session: Session) -> list[SyncRun]:
    """Each source's newest run, chosen by the database: the runs of a year of hourly syncs are
    not loaded to keep one per source (the API's /metrics asks this at every scrape)."""
    newest = (
        select(
            SyncRun.id,
            func.row_number()
            .over(
                partition_by=SyncRun.source,
                order_by=(SyncRun.started_at.desc(), SyncRun.id.desc()),
            )
            .label("n"),
        )
    ).subquery()
    return list(
        session.scalars(
            select(SyncRun).join(newest, newest.c.id == SyncRun.id).where(newest.c.n == 1)
        )
    )


def _failures_since_success(session: Session) -> list[tuple[str, int]]:
    """Per source, the failed runs started after its newest success (all, if none)."""
    success = (
        select(SyncRun.source, func.max(SyncRun.started_at).label("at"))
        .where(SyncRun.status == "succeeded")
        .group_by(SyncRun.source)
    ).subquery()
    rows = session.execute(
        select(SyncRun.source, func.count())
        .outerjoin(success, success.c.source == SyncRun.source)
        .where(
            SyncRun.status.in_(FAILED),
            or_(success.c.at.is_(None), SyncRun.started_at > success.c.at),
        )
        .group_by(SyncRun.source)
    )
    return [(source, count) for source, count in rows]


def _add_last_run(source: SourceStatus, run: SyncRun) -> None:
    source.last_status = run.status
    source.last_started = run.started_at
    source.last_finished = run.finished_at
    source.last_records = run.records
    source.last_error = run.error


def registry(status: PipelineStatus) -> CollectorRegistry:
    """The figures of `status` as Prometheus gauges, in a registry of their own."""
    reg = CollectorRegistry()
    per_source = {
        "unpublished": ("diogen_outbox_unpublished_events", "Events not yet published to the bus"),
        "quarantined": ("diogen_quarantined_records", "Records kept in quarantine"),
        "dead_letters": ("diogen_dead_letters", "Messages kept in the dead letters"),
        "failures_since_success": ("diogen_sync_failures", "Failed syncs since the last success"),
        "last_records": ("diogen_sync_last_records", "Records read by the last sync"),
    }
    for attribute, (name, doc) in per_source.items():
        gauge = Gauge(name, doc, ["source"], registry=reg)
        for s in status.sources:
            gauge.labels(s.source).set(getattr(s, attribute))
    last = Gauge(
        "diogen_sync_last_finished_timestamp_seconds",
        "End of the last sync",
        ["source", "status"],
        registry=reg,
    )
    cursor = Gauge(
        "diogen_sync_cursor_updated_timestamp_seconds",
        "Last cursor update",
        ["source"],
        registry=reg,
    )
    for s in status.sources:
        if s.last_finished is not None:
            last.labels(s.source, s.last_status or "").set(s.last_finished.timestamp())
        if s.cursor_updated is not None:
            cursor.labels(s.source).set(s.cursor_updated.timestamp())
    lag = Gauge(
        "diogen_bus_lag_events",
        "Events the group has not processed",
        ["group", "topic"],
        registry=reg,
    )
    for topic, count in status.lag.items():
        lag.labels(status.group, topic).set(count)
    Gauge(
        "diogen_stale_gold_windows",
        "Repository days whose metrics must be recomputed",
        registry=reg,
    ).set(status.stale_windows)
    return reg

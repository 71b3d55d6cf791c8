"""The sync runner: drives a connector, writes bronze and silver in batches, commits cursors.

Each batch is one transaction: raw records, the silver rows normalised from them, quarantined
rejects, and (at a checkpoint) the cursors that say the batch is complete. A sync killed at
any point leaves complete batches behind; the next run re-reads from the last committed cursor
and its upserts make the overlap a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from diogen.connectors.base import Checkpoint, Connector, Prepared, RawItem
from diogen.db import session_scope
from diogen.errors import RejectedRecord
from diogen.ids import stable_id
from diogen.ingest import bronze, outbox
from diogen.ingest.batch import Batch
from diogen.ingest.models import SyncRun
from diogen.ingest.writer import BatchWriter
from diogen.metrics.gold import refresh_gold
from diogen.silver.deployments import link_deployed_commits
from diogen.silver.work_links import link_work

log = logging.getLogger(__name__)
BATCH_SIZE = 2000
# Normalisers signal a malformed payload with these; anything else is a bug and stops the sync.
REJECTIONS = (RejectedRecord, KeyError, ValueError, TypeError, IndexError)
RUNNING = "running"
ABANDONED = "abandoned"
ABANDONED_ERROR = (
    "its process ended before the sync finished; the next sync resumes from the cursors"
)
# The cursor under which a sync keeps its connector's configuration (no stream is so named).
CONFIG_CURSOR = "_config"

Clock = Callable[[], datetime]
Progress = Callable[[dict[str, int]], None]


def connector_config(connector: Connector) -> dict[str, Any] | None:
    """The connector's configuration as JSON, secrets masked: what replaying its bronze
    needs to normalise as this sync does."""
    config = getattr(connector, "config", None)
    return config.model_dump(mode="json") if isinstance(config, BaseModel) else None


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SyncResult:
    source: str
    run_id: str
    records: int = 0
    rejected: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


def run_sync(
    engine: Engine,
    connector: Connector,
    *,
    clock: Clock = utcnow,
    progress: Progress | None = None,
    batch_size: int | None = None,
) -> SyncResult:
    """Run one sync of `connector` to the end; whatever stops it is logged, then raised.
    Batches hold `batch_size` records, by default the connector's `batch_size` if it has one."""
    if batch_size is None:
        batch_size = int(getattr(connector, "batch_size", BATCH_SIZE))
    started = clock()
    result = SyncResult(
        connector.source, stable_id(connector.source, "sync_run", started.isoformat())
    )
    with session_scope(engine) as session:
        cursors = bronze.load_cursors(session, connector.source)
        cursors.pop(CONFIG_CURSOR, None)
        config = connector_config(connector)
        if config is not None:
            bronze.save_cursors(session, connector.source, {CONFIG_CURSOR: config}, started)
        session.add(
            SyncRun(id=result.run_id, source=connector.source, started_at=started, status=RUNNING)
        )
    try:
        _Sync(engine, connector, result, clock, progress, batch_size).drive(cursors)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        _finish_run(engine, result, clock(), status, str(exc) or exc.__class__.__name__)
        raise
    _finish_run(engine, result, clock(), "succeeded", None)
    return result


@dataclass
class _Sync:
    """One run of one connector, and what each of its steps needs."""

    engine: Engine
    connector: Connector
    result: SyncResult
    clock: Clock
    progress: Progress | None
    batch_size: int
    work_repositories: set[str] = field(default_factory=set)
    wrote_issues: bool = False
    committed: set[str] = field(default_factory=set)

    def drive(self, cursors: dict[str, dict[str, Any]]) -> None:
        writer = BatchWriter(self.engine)
        try:
            self._read(cursors, writer)
        except BaseException:
            # Whatever stopped the reading (an interrupt, a kill, a source error), what is
            # queued is whole batches and checkpoints: keep it, so the next run reads less,
            # and so that what a failed run leaves behind does not depend on thread timing.
            writer.close(raise_failure=False)
            raise
        writer.close()
        self.result.summary.update(self.connector.stats.counters)
        self._link_work()

    def _link_work(self) -> None:
        """Once the run is complete: new issues may be named by any change; new changes are
        read in their repositories; gold follows whatever the run wrote (the database logged
        it: commits, pull requests, deployments, reviews, identities)."""
        with session_scope(self.engine) as session:
            if self.work_repositories or self.wrote_issues:
                scope = None if self.wrote_issues else self.work_repositories
                self.result.summary.update(link_work(session, repositories=scope))
            refresh_gold(session)

    def _note(self, batch: Batch) -> None:
        """What the run keeps of a batch it hands to the writer."""
        repositories, issues = batch.work()
        self.work_repositories |= repositories
        self.wrote_issues = self.wrote_issues or issues
        batch.first_commits = batch.committed() - self.committed
        self.committed |= batch.first_commits

    def _read(self, cursors: dict[str, dict[str, Any]], writer: BatchWriter) -> None:
        """Consume the connector's fetch, handing full batches and checkpoints to the writer."""
        batch = Batch()
        touched: set[str] = set()
        for item in self.connector.fetch(cursors, self._stored):
            if isinstance(item, Checkpoint):
                self._note(batch)
                touched |= batch.repositories()
                writer.submit(partial(self._checkpoint, item, batch, touched, self.clock()))
                batch, touched = Batch(), set()
                continue
            if isinstance(item, Prepared):
                self._add_prepared(batch, item)
            else:
                self._add(batch, item)
            if len(batch) >= self.batch_size:
                self._note(batch)
                touched |= batch.repositories()
                writer.submit(batch.write)
                batch = Batch()
                if self.progress is not None:
                    self.progress({**self.connector.stats.counters, "records": self.result.records})
        if len(batch):
            self._note(batch)
            writer.submit(batch.write)

    def _stored(self, stream: str, keys: Collection[str]) -> set[str]:
        with session_scope(self.engine) as session:
            return bronze.stored_keys(session, self.connector.source, stream, keys)

    def _add(self, batch: Batch, item: RawItem) -> None:
        source, now = self.connector.source, self.clock()
        batch.raw.append(bronze.raw_row(source, item, now))
        self.result.records += 1
        try:
            rows = list(self.connector.normalize(item))
        except REJECTIONS as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            log.warning("rejected %s/%s: %s", item.stream, item.natural_key, reason)
            batch.rejected.append(bronze.quarantine_row(source, item, reason, now))
            self.result.rejected += 1
            return
        batch.add_rows(rows)

    def _add_prepared(self, batch: Batch, item: Prepared) -> None:
        source, now = self.connector.source, self.clock()
        batch.records.extend(bronze.prepared_rows(source, item, now))
        batch.add_sets(item.rows)
        batch.add_rows(item.silver)
        self.result.records += len(item.records)
        for key, reason in item.rejected:
            log.warning("rejected %s/%s: %s", item.stream, key, reason)
            batch.rejected.append(bronze.prepared_quarantine_row(source, item, key, reason, now))
            self.result.rejected += 1

    def _checkpoint(
        self, item: Checkpoint, batch: Batch, touched: set[str], now: datetime, session: Session
    ) -> None:
        """Complete what the checkpoint covers: its rows, its cursors, the source's own
        finishing step, and the deployed commits of every repository that changed."""
        batch.write(session)
        bronze.save_cursors(session, self.connector.source, item.cursors, now)
        outbox.announce_checkpoint(session, self.connector.source, normalized=True, now=now)
        if item.finish is not None:
            self.result.summary.update(item.finish(session))
        for repository in sorted(touched):
            self.result.summary.update(link_deployed_commits(session, repository))


def abandon_running(engine: Engine, source: str, now: datetime) -> int:
    """Mark the runs of `source` still 'running' as abandoned: their process died (SIGKILL,
    a lost machine) without recording how it ended. Only for whoever holds the source's sync
    lock, which no running sync could be without. How many."""
    with session_scope(engine) as session:
        result = session.execute(
            update(SyncRun)
            .where(SyncRun.source == source, SyncRun.status == RUNNING)
            .values(status=ABANDONED, finished_at=now, error=ABANDONED_ERROR)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _finish_run(
    engine: Engine, result: SyncResult, now: datetime, status: str, error: str | None
) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == result.run_id)
            .values(
                finished_at=now,
                status=status,
                records=result.records,
                rejected=result.rejected,
                summary=result.summary,
                error=error,
            )
        )

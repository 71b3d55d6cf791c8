"""`diogen worker`: relay the outbox, process events into silver, run scheduled syncs.

One loop does the event work, in steps: publish what the outbox holds, apply one batch from
the bus, retry the dead letters that are due. Scheduled syncs run on a thread of their own,
so a long sync never stalls processing. `stop` ends the loop after the current step: its
batch is applied and committed (or, if it fails, left uncommitted for the next reader); a
sync already running is finished.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from diogen.bus.base import Bus, Consumer
from diogen.bus.embedded import EmbeddedBus
from diogen.bus.topics import ALL_TOPICS
from diogen.config import Settings
from diogen.db import session_scope
from diogen.errors import StorageError
from diogen.ingest import outbox
from diogen.ingest.runner import utcnow
from diogen.processing import deadletters, scheduler
from diogen.processing.locks import Locks
from diogen.processing.pipeline import WritePipeline, Written
from diogen.processing.processor import Outcome, Processor

log = logging.getLogger(__name__)
GROUP = "silver"
RELAY_LOCK = "relay"
SCHEDULE_CHECK_SECONDS = 30.0
TRIM_EVERY_SECONDS = 600.0
ERROR_PAUSE_SECONDS = 2.0
# A batch's write ends with a gold refresh costing ~45 ms of worker CPU whatever its size:
# 1,000 events paid 60 µs each for it, 5,000 pay 25 (bench/bus_throughput.py). A poll
# returns what arrived within its wait, so a worker that keeps up still writes small batches.
BATCH_SIZE = 5000
# A planned batch holds tens of objects per event (payloads, rows) until it is written: at
# Python's default threshold (700 allocations) the collector ran thousands of times per
# 20,000 events and kept rescanning what they promoted, ~35 of a worker's ~140 µs per event.
# Few of them are cycles; a collection every 50,000 allocations still bounds what cycles hold.
GC_THRESHOLD = 50_000


@dataclass
class WorkerStats:
    relayed: int = 0
    outcome: Outcome = field(default_factory=Outcome)
    errors: int = 0
    partitions: set[tuple[str, int]] = field(default_factory=set)


def collect_garbage_less_often() -> None:
    """For a worker process: the threshold is the whole process's, so its entry point sets it."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


class Worker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        bus: Bus,
        locks: Locks,
        *,
        group: str = GROUP,
        batch_size: int = BATCH_SIZE,
        poll_seconds: float = 0.5,
        schedule: bool = True,
        clock: Callable[[], datetime] = utcnow,
        processor: Processor | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.bus = bus
        self.locks = locks
        self.group = group
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.schedule = schedule
        self.clock = clock
        self.processor = processor or Processor(engine, settings, group=group, clock=clock)
        self.writer = WritePipeline(self.processor)
        self.stats = WorkerStats()
        self.stopping = threading.Event()
        self._consumer: Consumer | None = None
        self._trimmed = time.monotonic()

    def run(self) -> WorkerStats:
        """Work until `stop()`; returns what was done."""
        syncs = threading.Thread(target=self._schedule_loop, name="diogen-schedule", daemon=True)
        if self.schedule:
            syncs.start()
        try:
            while not self.stopping.is_set():
                self.step()
        finally:
            self.close()
            if syncs.is_alive():
                syncs.join()
        return self.stats

    def drain(self) -> WorkerStats:
        """Work until the outbox is empty and the group has committed everything published
        (or until `stop()`); for batch jobs and tests."""
        try:
            while not self.stopping.is_set():
                relayed = self.stats.relayed
                if self.step() or self.stats.relayed != relayed:
                    continue
                if self._caught_up():
                    break
        finally:
            self.close()
        return self.stats

    def _caught_up(self) -> bool:
        with session_scope(self.engine) as session:
            if outbox.pending_by_source(session):
                return False
        return not any(self.bus.lag(self.group, ALL_TOPICS).values())

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        """Apply the batch in hand, then leave the group (Kafka hands this worker's
        partitions to the others)."""
        self._finish_writes()
        self._drop_consumer()
        self.writer.close()

    def step(self) -> int:
        """One round of event work; how many messages it applied. Errors of the bus or the
        database are logged and waited out: what was not committed is delivered again."""
        try:
            self.stats.relayed += self._relay()
            applied = self._consume()
            self._retry_due()
            self._trim()
            return applied
        except (SQLAlchemyError, StorageError) as exc:
            self.stats.errors += 1
            log.warning("worker step failed, retrying: %s", str(exc).splitlines()[0])
            self._drop_consumer()
            self.stopping.wait(ERROR_PAUSE_SECONDS)
            return 0

    def _relay(self) -> int:
        if not self.locks.acquire(RELAY_LOCK):
            return 0
        moved = 0
        while not self.stopping.is_set():
            with session_scope(self.engine) as session:
                count = outbox.relay(session, self.bus, self.batch_size)
            moved += count
            if count < self.batch_size:
                break
        return moved

    def _consume(self) -> int:
        """Poll and plan a batch while the writer applies the previous one; commit the
        offsets of what the writer has committed. Idle, wait for the writer."""
        consumer = self._consumer_if_allowed()
        if consumer is None:
            self.stopping.wait(self.poll_seconds)
            return 0
        self._commit(consumer, self.writer.written())
        messages = consumer.poll(self.batch_size, self.poll_seconds)
        if not messages:
            self._commit(consumer, self.writer.flush())
            return 0
        self.writer.submit(messages, self.processor.plan(messages))
        return len(messages)

    def _commit(self, consumer: Consumer, written: list[Written]) -> None:
        for batch in written:
            consumer.commit(batch.messages)
            self.stats.outcome.add(batch.outcome)
            self.stats.partitions.update((m.topic, m.partition) for m in batch.messages)

    def _finish_writes(self) -> None:
        """Commit what the writer has written; on failure the rest is delivered again."""
        if self._consumer is None:
            self.writer.reset()
            return
        try:
            self._commit(self._consumer, self.writer.flush())
        except Exception as exc:
            log.warning("last batch not committed, it will be delivered again: %s", exc)
        self.writer.reset()

    def _consumer_if_allowed(self) -> Consumer | None:
        """The group's consumer; on the embedded log only while this worker holds its lock."""
        if self.bus.exclusive_groups and not self.locks.acquire(f"consume:{self.group}"):
            self._drop_consumer()
            return None
        if self._consumer is None:
            self._consumer = self.bus.consumer(self.group, ALL_TOPICS)
        return self._consumer

    def _drop_consumer(self) -> None:
        # Written batches are not committed with another consumer: they are delivered again.
        self.writer.reset()
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            try:
                consumer.close()
            except Exception as exc:  # closing a consumer of a dead broker may fail too
                log.warning("closing the consumer failed: %s", exc)

    def _retry_due(self) -> None:
        with session_scope(self.engine) as session:
            letters = deadletters.due(session, self.group, self.clock(), self.batch_size)
            messages = [deadletters.as_message(letter) for letter in letters]
        if messages:
            self._finish_writes()  # a retry must not race the writer over the same rows
            self.stats.outcome.add(self.processor.handle(messages, retrying=True))

    def _trim(self) -> None:
        if (
            isinstance(self.bus, EmbeddedBus)
            and time.monotonic() - self._trimmed > TRIM_EVERY_SECONDS
        ):
            self._trimmed = time.monotonic()
            self.bus.trim(timedelta(hours=self.settings.bus_retention_hours))

    def _schedule_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                scheduler.run_due(
                    self.engine, self.settings, self.locks, self.clock, self.stopping.is_set
                )
            except (SQLAlchemyError, StorageError) as exc:
                log.warning("scheduler: %s", str(exc).splitlines()[0])
            self.stopping.wait(SCHEDULE_CHECK_SECONDS)

"""Write one batch while the next is planned.

Planning (reading bronze, normalising) is Python work; writing is mostly the database's. On
one thread a worker does one, then the other; here a writer thread applies batch n while the
worker polls and plans batch n+1, so the two overlap (the database drivers release the GIL
while they wait). At most one batch is in the writer's hands: memory stays bounded, and a
writer that falls behind slows the planner down.

Offsets stay the caller's: it commits a batch's messages only once `written` hands the batch
back, in order. After a failed write nothing later is written or handed back (committing a
later batch would also commit the failed one's offsets), and the failure is raised to the
caller, which drops its consumer so that everything uncommitted is delivered again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from diogen.bus.base import Message
from diogen.processing.processor import Outcome, Planned, Processor


@dataclass
class Written:
    messages: Sequence[Message]
    outcome: Outcome


class WritePipeline:
    def __init__(self, processor: Processor) -> None:
        self.processor = processor
        self._lock = threading.Condition()
        self._queued: deque[tuple[Sequence[Message], list[Planned]]] = deque()
        self._busy = False
        self._written: list[Written] = []
        self._failure: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="diogen-silver-writer", daemon=True)
        self._thread.start()

    def submit(self, messages: Sequence[Message], plans: list[Planned]) -> None:
        """Hand a planned batch to the writer, once the previous one is written."""
        with self._lock:
            self._wait_idle()
            self._raise_failure()
            self._queued.append((messages, plans))
            self._lock.notify_all()

    def written(self) -> list[Written]:
        """The batches written since the last call, in order; raises a failed write."""
        with self._lock:
            self._raise_failure()
            done, self._written = self._written, []
            return done

    def flush(self) -> list[Written]:
        """Wait for the batch in hand, then as `written`."""
        with self._lock:
            self._wait_idle()
        return self.written()

    def reset(self) -> None:
        """Forget what was written but not handed back, and any failure (the caller will be
        delivered those messages again); waits for the batch in hand."""
        with self._lock:
            self._wait_idle()
            self._written, self._failure = [], None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join()

    def _wait_idle(self) -> None:
        while (self._queued or self._busy) and self._failure is None:
            self._lock.wait()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queued and not self._closed:
                    self._lock.wait()
                if not self._queued:
                    return
                messages, plans = self._queued.popleft()
                self._busy = True
            try:
                result: Written | BaseException = Written(messages, self.processor.write(plans))
            except BaseException as exc:  # handed to the caller by submit/written/flush
                result = exc
            with self._lock:
                self._busy = False
                if isinstance(result, BaseException):
                    self._failure = result
                    self._queued.clear()
                elif self._failure is None:
                    self._written.append(result)
                self._lock.notify_all()

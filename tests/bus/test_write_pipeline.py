"""The writer thread of a worker: batches come back in order, and after a failed write nothing
later comes back (committing a later batch's offsets would commit the failed one's too)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from diogen.bus.base import Message
from diogen.processing.pipeline import WritePipeline
from diogen.processing.processor import Outcome, Planned


class Writes:
    """Stands in for the processor's write: records what it was given, fails where told,
    and can be held mid-write."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing
        self.written: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def write(self, plans: list[Planned], *, retrying: bool = False) -> Outcome:
        self.gate.wait()
        offset = plans[0].message.offset
        if offset in self.failing:
            raise RuntimeError(f"write {offset} failed")
        self.written.append(offset)
        return Outcome(processed=len(plans))


def batch(offset: int) -> tuple[list[Message], list[Planned]]:
    message = Message("t", 0, offset, "k", b"{}")
    return [message], [Planned(message)]


def pipeline(writes: Writes) -> WritePipeline:
    processor: Any = writes
    return WritePipeline(processor)


def test_batches_come_back_in_order_once_written() -> None:
    writes = Writes(set())
    writer = pipeline(writes)
    writes.gate.clear()
    writer.submit(*batch(1))
    assert writer.written() == []  # still being written: its offsets must wait
    writes.gate.set()
    writer.submit(*batch(2))  # waits for batch 1
    done = writer.flush()
    writer.close()
    assert [b.messages[0].offset for b in done] == [1, 2] == writes.written
    assert [b.outcome.processed for b in done] == [1, 1]


def test_after_a_failed_write_nothing_later_comes_back_until_reset() -> None:
    writes = Writes({2})
    writer = pipeline(writes)
    writer.submit(*batch(1))
    writer.flush()
    writer.submit(*batch(2))
    with pytest.raises(RuntimeError, match="write 2 failed"):
        writer.submit(*batch(3))
    with pytest.raises(RuntimeError):
        writer.written()
    writer.reset()
    writes.failing.clear()
    writer.submit(*batch(2))  # delivered again
    done = writer.flush()
    writer.close()
    assert [b.messages[0].offset for b in done] == [2]
    assert writes.written == [1, 2]

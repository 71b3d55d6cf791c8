"""The bus contract: publish keyed records to topics, consume them as a named group, commit.

Two implementations: the embedded log (a table in the database, the default) and Kafka. Both
deliver at least once, in order within a partition; records with the same key share a
partition. Consumers make their effects idempotent, which turns that into exactly-once effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from zlib import crc32


@dataclass(frozen=True, slots=True)
class Record:
    """Something to publish: `key` chooses the partition, so one key's records stay in order."""

    topic: str
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Message:
    """A record as consumed, with its place in the log."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes


class Consumer(Protocol):
    def poll(self, max_messages: int, timeout: float) -> list[Message]:
        """Up to `max_messages` after the last polled ones; waits at most `timeout` seconds."""
        ...

    def commit(self, messages: Sequence[Message]) -> None:
        """Mark `messages` (and everything before them in their partitions) as done."""
        ...

    def close(self) -> None: ...


class Bus(Protocol):
    kind: str
    exclusive_groups: bool
    """True when only one consumer of a group may run at a time (the caller holds a lock)."""

    def publish(self, records: Sequence[Record]) -> None:
        """Publish `records`, durably when this returns; raises StorageError when it cannot."""
        ...

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer: ...

    def lag(self, group: str, topics: Sequence[str]) -> dict[str, int]:
        """Messages per topic that `group` has not committed yet."""
        ...

    def check(self, timeout: float) -> None:
        """Raise StorageError unless the bus answers within `timeout` seconds."""
        ...

    def close(self) -> None: ...


def partition_for(key: str, partitions: int) -> int:
    """The partition of `key` among `partitions` (stable across processes and machines)."""
    return crc32(key.encode("utf-8", "surrogatepass")) % partitions

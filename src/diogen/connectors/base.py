"""The connector contract.

A connector is a typed config, `fetch` (a generator of raw records and checkpoints) and
`normalize` (raw record → silver rows). The ingest runner owns everything else: the bronze
envelope, batching, transactions, cursors, quarantine and progress.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class RawItem:
    """One record as the source gave it, under the key that identifies it in its stream."""

    stream: str
    natural_key: str
    payload: dict[str, Any]
    request: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Everything yielded before this is complete: store `cursors` with it, in one transaction.

    `finish` runs in that same transaction, for what needs the whole batch in place
    (reachability, deployments from tags). The runner then links the deployed commits of
    every repository the batch touched, whichever source its deployments came from.
    """

    cursors: Mapping[str, dict[str, Any]]
    finish: Callable[[Session], dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class SilverRow:
    """A row to upsert into `table`; `update` names the columns an existing row takes over
    (None: all of them; empty: keep the existing row as it is). A stored row whose boolean
    column `protect` is true is never updated (a person's manual decision)."""

    table: Table
    values: dict[str, Any]
    update: tuple[str, ...] | None = None
    protect: str | None = None


@dataclass(frozen=True, slots=True)
class RowSet:
    """Rows for `table` as tuples of the values of `columns`, in that order, keyed by id;
    `update` and `protect` as in SilverRow. The connector guarantees one row per id."""

    table: Table
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    update: tuple[str, ...] | None = None
    protect: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """Records a connector has read and normalised in bulk (the git connector does it in
    reader processes, to use more than one core): each record's natural key, payload hash
    and payload as JSON text, for bronze; the silver rows made from them, in bulk (`rows`)
    and as single rows (`silver`, merged by id within a batch as normalised rows are); and
    the records that could not be normalised, by natural key, with the reason."""

    stream: str
    records: list[tuple[str, str, str]]
    rows: list[RowSet]
    silver: list[SilverRow] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class FetchStats:
    """What a fetch did, for the run summary and the progress display."""

    counters: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, amount: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount


StoredKeys = Callable[[str, Collection[str]], set[str]]
"""stored(stream, keys): which of `keys` the source's `stream` already keeps in bronze."""


class Connector(Protocol):
    """What the ingest runner drives. `source` names the configured source, e.g. 'git:flask'."""

    source: str
    stats: FetchStats

    def fetch(
        self, cursors: Mapping[str, dict[str, Any]], stored: StoredKeys
    ) -> Iterator[RawItem | Prepared | Checkpoint]: ...

    def normalize(self, item: RawItem) -> Iterable[SilverRow]: ...

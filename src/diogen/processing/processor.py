"""The processor: bronze events → silver rows, deployed-commit links and stale gold windows.

A batch of messages is planned (each event's bronze record loaded and normalised) and written
in one transaction. If that write fails on a constraint, its halves are written apart, down to
single messages, and the ones that still fail go to the dead letters: a poison record never
holds up its partition. Writes are idempotent upserts, so a batch delivered twice leaves what
it left once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Engine, String, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from diogen.accounts.audit import bump_data_version
from diogen.bus.base import Message
from diogen.config import Settings
from diogen.connectors.base import RawItem, SilverRow
from diogen.db import session_scope
from diogen.ingest import bronze
from diogen.ingest.batch import LINKED_TABLES
from diogen.ingest.models import RawRecord
from diogen.ingest.outbox import CHECKPOINT
from diogen.ingest.runner import REJECTIONS, utcnow
from diogen.metrics.gold import refresh_gold
from diogen.processing import deadletters, upserts, windows
from diogen.processing.registry import Normalisers
from diogen.silver import Deployment
from diogen.silver.deployments import link_deployed_commits

log = logging.getLogger(__name__)
# A failed constraint may pass once the parent row arrives on another topic: retry those.
LATER = (IntegrityError,)
POISON_WRITES = (IntegrityError, DataError)
ID_ARRAY: Any = postgresql.ARRAY(String)
# Bronze payloads are loaded and normalised this many at a time: decoded, a batch's payloads
# take far more memory than its rows (a GitHub pull request or a Jira issue can be 100 KB of
# JSON), and a worker's batch may be 5,000 events.
PLAN_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Event:
    raw_id: str | None
    source: str
    stream: str
    natural_key: str
    normalized: bool


def parse_event(value: bytes) -> Event:
    data = json.loads(value)
    return Event(
        data["raw_id"], data["source"], data["stream"], data["natural_key"], data["normalized"]
    )


@dataclass
class Planned:
    """What one message asks for, or why it cannot be done."""

    message: Message
    event: Event | None = None
    rows: list[SilverRow] = field(default_factory=list)
    quarantine: dict[str, Any] | None = None
    windows: set[tuple[str, datetime]] = field(default_factory=set)
    finish: str | None = None
    error: str | None = None
    later: bool = False


@dataclass
class Outcome:
    processed: int = 0
    rejected: int = 0
    dead: int = 0
    skipped: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    def add(self, other: Outcome) -> None:
        self.processed += other.processed
        self.rejected += other.rejected
        self.dead += other.dead
        self.skipped += other.skipped


class Processor:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        group: str = "silver",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.group = group
        self.clock = clock
        self.normalisers = Normalisers(settings)

    def handle(self, messages: Sequence[Message], *, retrying: bool = False) -> Outcome:
        """Apply `messages`; with `retrying` they come from the dead letters, whose rows are
        removed once applied (or once a newer version of their record made them moot)."""
        return self.write(self.plan(messages, retrying=retrying), retrying=retrying)

    def plan(self, messages: Sequence[Message], *, retrying: bool = False) -> list[Planned]:
        """What `messages` ask for: reads bronze and normalises, writes nothing, so the next
        batch can be planned while this one is written."""
        with session_scope(self.engine) as session:
            return self._plan(session, messages, retrying)

    def write(self, plans: list[Planned], *, retrying: bool = False) -> Outcome:
        """Write `plans` in one transaction; if that fails on a constraint, each half apart,
        down to single messages, which go to the dead letters if they still fail. A poison
        message among n costs about 2·log2(n) transactions, not n (each refreshes gold)."""
        try:
            with session_scope(self.engine) as session:
                return self._write(session, plans, retrying)
        except POISON_WRITES as exc:
            if len(plans) == 1:
                return self._write_failed(plans[0], exc, retrying)
            log.warning("batch of %d failed (%s); writing each half apart", len(plans), exc)
        middle = len(plans) // 2
        outcome = self.write(plans[:middle], retrying=retrying)
        outcome.add(self.write(plans[middle:], retrying=retrying))
        return outcome

    def _write_failed(self, plan: Planned, exc: Exception, retrying: bool) -> Outcome:
        plan.error = f"{exc.__class__.__name__}: {_first_line(exc)}"
        plan.later = isinstance(exc, LATER)
        with session_scope(self.engine) as session:
            return self._write(session, [plan], retrying)

    def _plan(self, session: Session, messages: Sequence[Message], retrying: bool) -> list[Planned]:
        plans = [Planned(m) for m in messages]
        for plan in plans:
            try:
                plan.event = parse_event(plan.message.value)
            except (ValueError, KeyError, TypeError) as exc:
                plan.error = f"malformed event: {exc.__class__.__name__}: {exc}"
        for start in range(0, len(plans), PLAN_CHUNK):
            self._plan_chunk(session, plans[start : start + PLAN_CHUNK], retrying)
        return plans

    def _plan_chunk(self, session: Session, plans: list[Planned], retrying: bool) -> None:
        records = _load_raw(session, {p.event.raw_id for p in plans if p.event and p.event.raw_id})
        for plan in plans:
            if plan.event is None:
                continue
            try:
                self._plan_one(session, plan, plan.event, records, retrying)
            except SQLAlchemyError:
                raise
            except Exception as exc:  # a bug or a gap in one record must not stop the partition
                log.exception("cannot process %s", plan.event)
                plan.error = f"{exc.__class__.__name__}: {_first_line(exc)}"

    def _plan_one(
        self,
        session: Session,
        plan: Planned,
        event: Event,
        records: dict[str, RawItem],
        retrying: bool,
    ) -> None:
        if event.stream == CHECKPOINT:
            plan.finish = None if event.normalized else event.source
            return
        item = records.get(event.raw_id or "")
        if item is None:
            raise LookupError(f"bronze record {event.raw_id} not found")
        if retrying and _superseded(session, event):
            plan.event = None  # a newer version of the record was applied since
            return
        normaliser = self.normalisers.get(session, event.source)
        try:
            rows = list(normaliser.normalize(item))
        except REJECTIONS as exc:
            if not event.normalized:
                reason = f"{exc.__class__.__name__}: {exc}"
                plan.quarantine = bronze.quarantine_row(event.source, item, reason, self.clock())
            return
        plan.windows = windows.of_rows(rows)
        if not event.normalized:
            plan.rows = rows

    def _write(self, session: Session, plans: list[Planned], retrying: bool) -> Outcome:
        outcome = Outcome()
        failed = [p for p in plans if p.error is not None]
        good = [p for p in plans if p.error is None]
        upserts.write_rows(session, [row for p in good for row in p.rows])
        bronze.write_quarantine(session, [p.quarantine for p in good if p.quarantine])
        for repository in sorted(_with_deployments(session, _linked_repositories(good))):
            outcome.summary.update(link_deployed_commits(session, repository))
        finishing = [p.finish for p in good if p.finish]
        if retrying:
            # A dead letter applied after its sync's checkpoint: the checkpoint's steps ran
            # without its rows (git: the reachability walk over the parents in silver stopped
            # at the missing commit). They run again, now with them.
            finishing += [p.event.source for p in good if p.rows and p.event is not None]
        for source in dict.fromkeys(finishing):
            outcome.summary.update(self.normalisers.finish(session, source))
        # In the batch's transaction, after everything it wrote (finishing steps included), so
        # gold is fresh when its silver rows become visible.
        refresh_gold(session)
        now = self.clock()
        windows.mark(session, set().union(*(p.windows for p in good)), now)
        deadletters.record(session, self.group, [_failure(p) for p in failed], now)
        if retrying:
            deadletters.resolve(session, self.group, [p.message for p in good])
        # Cached reports are keyed by the data version: it changes with the silver it versions.
        # Last, so that the one row every writer updates is locked only until this commits.
        if any(p.rows or p.finish for p in good):
            bump_data_version(session)
        outcome.processed = sum(1 for p in good if p.event is not None and p.quarantine is None)
        outcome.rejected = sum(1 for p in good if p.quarantine is not None)
        outcome.skipped = sum(1 for p in good if p.event is None)
        outcome.dead = len(failed)
        return outcome


def _failure(plan: Planned) -> deadletters.Failure:
    assert plan.error is not None
    source = plan.event.source if plan.event else None
    return deadletters.Failure(plan.message, source, plan.error, plan.later)


def _load_raw(session: Session, ids: set[str]) -> dict[str, RawItem]:
    found: dict[str, RawItem] = {}
    wanted = sorted(ids)
    columns = (RawRecord.id, RawRecord.stream, RawRecord.natural_key, RawRecord.payload)
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: an IN list of a thousand ids costs more to render than to run.
        chunks = [select(*columns, RawRecord.request).where(RawRecord.id == any_(_ids(wanted)))]
    else:
        chunks = [
            select(*columns, RawRecord.request).where(
                RawRecord.id.in_(wanted[start : start + bronze.LOOKUP_CHUNK])
            )
            for start in range(0, len(wanted), bronze.LOOKUP_CHUNK)
        ]
    for query in chunks:
        for raw_id, stream, key, payload, request in session.execute(query):
            found[raw_id] = RawItem(stream, key, payload, request)
    return found


def _ids(ids: list[str]) -> BindParameter[list[str]]:
    return bindparam("ids", ids, type_=ID_ARRAY)


def _superseded(session: Session, event: Event) -> bool:
    newest = session.scalar(
        select(RawRecord.id)
        .where(
            RawRecord.source == event.source,
            RawRecord.stream == event.stream,
            RawRecord.natural_key == event.natural_key,
        )
        .order_by(RawRecord.fetched_at.desc(), RawRecord.id.desc())
        .limit(1)
    )
    return newest != event.raw_id


def _linked_repositories(plans: list[Planned]) -> set[str]:
    return {
        row.values["repository_id"]
        for p in plans
        for row in p.rows
        if row.table.name in LINKED_TABLES and row.values.get("repository_id")
    }


def _with_deployments(session: Session, repositories: set[str]) -> set[str]:
    """Those of `repositories` with deployments: linking the others has nothing to do, and
    loading their commit graph for nothing would cost more than the rest of the batch."""
    if not repositories:
        return set()
    found = session.scalars(
        select(Deployment.repository_id)
        .where(Deployment.repository_id.in_(sorted(repositories)))
        .distinct()
    )
    return {repository for repository in found if repository is not None}


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__

"""Metrics benchmark over a synthetic organisation: DORA (and flow) reports at scale.

    .venv/bin/python bench/org_metrics.py                   # a fresh SQLite file under /tmp
    .venv/bin/python bench/org_metrics.py --postgres        # PostgreSQL, in a fresh schema
    .venv/bin/python bench/org_metrics.py --scale 0.01 --runs 3
    .venv/bin/python bench/org_metrics.py --keep            # generate once, reuse it next time
    .venv/bin/python bench/org_metrics.py --keep --analyze yes --only 1 --plans

The organisation comes from `diogen.testing.synthetic_org` (scale 1.0: 200 repositories,
1,000,000 commits, 200,000 pull requests, 50,000 deployments, 5,000 incidents, 300,000
issues), generated in a child process so that its memory does not count as the reports'.
Then, cold (the first call on a fresh engine) and warm (the median of --runs calls after a
warm-up call), it times:

  * the organisation's DORA report over the last 90 days,
  * one team's weekly DORA series over a year,
  * the same two flow reports, when `diogen.metrics.flow` exists,
  * the organisation's DORA report after 1,000 new events (commits and the deployments
    shipping them, inserted in the same transaction and rolled back afterwards): the
    incremental gold refresh (`metrics.gold.refresh_gold`, only the repositories the events
    made stale) and the report, timed together; the refresh alone is printed beside it.

Before measuring, gold is built for every stale repository (timed and printed). With
--no-gold it is marked stale instead, so the reports read silver's matching everywhere: the
figures of the code before gold, on the same data and at the same load.

It prints each figure against the issue's target, the peak memory, and for each report where
the time goes: every SQL statement timed with engine events (execute time, time until the
next statement, and the statement re-run alone with all its rows fetched), slowest first,
with the metrics function that issued it. Nothing here asserts on time: it measures and
reports. See bench/README.md for the options, planner statistics and the time limit.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import platform
import resource
import sqlite3
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from diogen import migrations
from diogen.db import make_engine, normalize_url
from diogen.errors import DiogenError
from diogen.metrics import Scope, Window, dora_report
from diogen.metrics.gold import freshness, mark_stale, refresh_gold
from diogen.silver import Organization
from diogen.testing.synthetic_org import (
    END,
    LEAVES,
    ORG_NAME,
    TABLES,
    append_events,
    generate_organization,
)

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SHOWN = 8  # slowest statements shown per report
TEXT = 120  # characters of each statement shown
TEAM = LEAVES[0]  # a nested team with members at every scale
EVENTS = 1000
WARM_UP_SECONDS = 30
Report = Callable[[Session], Any]


@dataclass(frozen=True)
class Case:
    name: str
    run: Report
    target: float | None = None  # seconds
    warm_only: bool = False  # the target is for warm calls
    refresh: bool = False  # insert new events before, roll them back after
    number: int = 0  # in the full list of measurements


@dataclass
class Statement:
    caller: str
    text: str
    parameters: Any
    started: float
    seconds: float = 0.0  # cursor.execute only: SQLite steps to the first row, no further
    until_next: float = 0.0  # to the next statement or the end of the report: fetch and use
    replayed: float | None = None  # run again alone, every row fetched
    rows: int | None = None


@dataclass
class Timing:
    seconds: float
    statements: list[Statement] = field(default_factory=list)
    insert_seconds: float = 0.0
    refresh_seconds: float = 0.0
    stopped: bool = False  # interrupted at --limit


class StatementClock:
    """Times every statement an engine runs while `recording` is on, with the metrics
    function that issued it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.recording = False
        self.statements: list[Statement] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def detach(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.recording:
            self.statements.append(Statement(_caller(), statement, parameters, time.perf_counter()))

    def _after(self, *_: Any) -> None:
        if self.recording and self.statements:
            last = self.statements[-1]
            last.seconds = time.perf_counter() - last.started

    @contextmanager
    def record(self) -> Iterator[list[Statement]]:
        self.statements, self.recording = [], True
        try:
            yield self.statements
        finally:
            self.recording = False
            ends = [s.started for s in self.statements[1:]] + [time.perf_counter()]
            for statement, end in zip(self.statements, ends, strict=True):
                statement.until_next = end - statement.started


def _caller() -> str:
    """The innermost diogen function on the stack outside SQLAlchemy: who asked."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("diogen.") and not module.startswith("diogen.db"):
            return f"{module.removeprefix('diogen.')}.{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def main() -> None:
    args = parse_args()
    try:
        run(args)
    except DiogenError as exc:  # e.g. an unreachable database: one line, not a traceback
        raise SystemExit(f"error: {exc}") from None


def run(args: argparse.Namespace) -> None:
    url, cleanup = prepare_database(args)
    try:
        describe(url)
        print_generation(generate(url, args))
        # Statistics of the load, then of gold: autovacuum would give both, and PostgreSQL's
        # plans for building gold without them took minutes a repository.
        print(f"statistics: {analyze(url, args.analyze)}")
        print(f"gold: {prepare_gold(url, gold=not args.no_gold)}")
        print(f"statistics: {analyze(url, args.analyze)}")
        cases = make_cases(url, args)
        results = [measure(url, case, args) for case in cases]
        if results:
            summary(cases, results)
    finally:
        cleanup()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file in /tmp)")
    parser.add_argument("--postgres", action="store_true", help=f"use {POSTGRES} in a fresh schema")
    parser.add_argument("--scale", type=float, default=1.0, help="organisation size (1.0: full)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5, help="warm calls per report (median)")
    parser.add_argument(
        "--keep", action="store_true", help="reuse the database when generated already; keep it"
    )
    parser.add_argument(
        "--only",
        type=_numbers,
        help="comma-separated measurement numbers to run (0: generate only)",
    )
    parser.add_argument(
        "--no-replay", action="store_true", help="do not re-run statements one by one"
    )
    parser.add_argument(
        "--plans", action="store_true", help="print the query plan of the slowest statements"
    )
    parser.add_argument("--insert", action="store_true", help="PostgreSQL: INSERT, not COPY")
    parser.add_argument(
        "--no-gold",
        action="store_true",
        help="mark gold stale: reports read silver's matching (the figures before gold)",
    )
    parser.add_argument(
        "--analyze",
        choices=("auto", "yes", "no"),
        default="auto",
        help="run ANALYZE (VACUUM ANALYZE on PostgreSQL) before measuring (auto: on PostgreSQL, "
        "as autovacuum would; not on SQLite, where Diogen never runs it)",
    )
    parser.add_argument(
        "--limit",
        type=float,
        default=900,
        help="seconds after which one report call is interrupted (default 900)",
    )
    args = parser.parse_args()
    if args.postgres and args.database:
        parser.error("--postgres and --database exclude each other")
    if args.runs < 1 or args.scale <= 0:
        parser.error("--runs must be at least 1 and --scale positive")
    return args


def _numbers(text: str) -> set[int]:
    try:
        return {int(part) for part in text.split(",")}
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None


def prepare_database(args: argparse.Namespace) -> tuple[str, Callable[[], None]]:
    """The database URL and what to do at the end (drop what was created, unless --keep)."""
    if args.postgres:
        name = f"bench_org_s{args.scale:g}_seed{args.seed}" if args.keep else None
        schema = (name or f"bench_org_{uuid.uuid4().hex[:10]}").replace(".", "_")
        admin = make_engine(POSTGRES)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

        def drop() -> None:
            if not args.keep:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        return f"{POSTGRES}?options=-csearch_path%3D{schema}", drop
    if args.database:
        return args.database, lambda: None
    path = Path(f"/tmp/diogen-bench-org-s{args.scale:g}-seed{args.seed}.db")
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]

    def remove() -> None:
        for file in files:
            file.unlink(missing_ok=True)

    if not args.keep:
        remove()
    return f"sqlite:///{path}", (lambda: None) if args.keep else remove


def describe(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        version = connection.execute(
            text(
                "SELECT sqlite_version()" if engine.dialect.name == "sqlite" else "SELECT version()"
            )
        ).scalar()
    engine.dispose()
    shown = normalize_url(url).render_as_string(hide_password=True)
    print(f"database: {shown}")
    print(f"  {engine.dialect.name} {str(version).split(' on ')[0]}")
    print(
        f"  Python {platform.python_version()}, sqlite3 module on SQLite {sqlite3.sqlite_version}"
    )
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


# Generation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    seconds: float | None  # None: reused
    peak_kb: int | None
    rows: dict[str, int]


def generate(url: str, args: argparse.Namespace) -> Generated:
    engine = make_engine(url)
    try:
        existing = _has_organization(engine)
    finally:
        engine.dispose()
    if existing and args.keep:
        print("\nreusing the organisation generated before (--keep)")
        return Generated(None, None, count_rows(url))
    if existing:
        raise SystemExit(
            "the database already holds an organisation: give a fresh one, or --keep to reuse it"
        )
    print(f"\ngenerating the organisation at scale {args.scale:g} (seed {args.seed}) ...")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(
        target=_generate_child, args=(url, args.scale, args.seed, not args.insert, queue)
    )
    child.start()
    outcome = queue.get()
    child.join()
    if isinstance(outcome, str):
        raise SystemExit(f"generation failed: {outcome}")
    seconds, rows = outcome
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return Generated(seconds, peak, rows)


def prepare_gold(url: str, *, gold: bool) -> str:
    """Bring the schema up to date, then build gold for every stale repository (or mark
    every repository stale with `gold=False`); say what it took."""
    engine = make_engine(url)
    try:
        migrations.upgrade(engine)
        with Session(engine) as session:
            if not gold:
                mark_stale(session)
                session.commit()
                return "marked stale: the reports read silver (--no-gold)"
            started = time.perf_counter()
            done = refresh_gold(session)
            session.commit()
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return (
        f"refreshed {done['gold_repositories_refreshed']} stale repositories"
        f" ({done['gold_rebuilt_whole']} rebuilt whole) in {seconds:.1f} s"
    )


def _has_organization(engine: Engine) -> bool:
    try:
        with Session(engine) as session:
            return (
                session.scalar(select(Organization.id).where(Organization.name == ORG_NAME))
                is not None
            )
    except Exception:  # no schema yet
        return False


def _generate_child(url: str, scale: float, seed: int, copy: bool, queue: Any) -> None:
    """Generate, then put (seconds, rows per table) on `queue`, or what went wrong."""
    try:
        queue.put(_generate_timed(url, scale, seed, copy))
    except BaseException as exc:
        queue.put(f"{exc.__class__.__name__}: {exc}")
        raise


def _generate_timed(url: str, scale: float, seed: int, copy: bool) -> tuple[float, dict[str, int]]:
    engine = make_engine(url)
    started = time.perf_counter()
    say = lambda line: print(f"  {line}", flush=True)  # noqa: E731
    summary = generate_organization(engine, scale, seed, say, copy=None if copy else False)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, summary.rows


def analyze(url: str, wanted: str) -> str:
    """Give the planner statistics, or take them away; say which."""
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    try:
        if wanted == "yes" or (wanted == "auto" and not sqlite):
            # On PostgreSQL VACUUM too, as autovacuum would: it marks pages all-visible, which
            # index-only scans need, and clears what gold's updates left behind.
            command = "ANALYZE" if sqlite else "VACUUM ANALYZE"
            started = time.perf_counter()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text(command))
            seconds = time.perf_counter() - started
            why = "as autovacuum would after a load" if not sqlite else "--analyze yes"
            return f"{command} run before measuring ({why}; {seconds:.1f} s)"
        if not sqlite:
            return "no ANALYZE by the benchmark (autovacuum may have run it)"
        if inspect(engine).has_table("sqlite_stat1"):
            with engine.begin() as connection:  # left by an earlier --analyze yes
                connection.execute(text("DROP TABLE sqlite_stat1"))
        return "no ANALYZE: SQLite plans without statistics, as Diogen leaves it"
    finally:
        engine.dispose()


def count_rows(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with Session(engine) as session:
        counts = {t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES}
    engine.dispose()
    return counts


# Measuring ---------------------------------------------------------------------------------


def make_cases(url: str, args: argparse.Namespace) -> list[Case]:
    postgres = url.startswith("postgres")
    end = END + timedelta(days=1)  # what `default_window` gives the day after the history ends
    last_90_days = Window(end - timedelta(days=90), end)
    year = Window(END - timedelta(weeks=52), END)
    org_target = 1.0 if postgres else 2.0
    cases = [
        Case("org DORA, 90 days", lambda s: dora_report(s, Scope(), last_90_days), org_target),
        Case(
            f"team DORA ({TEAM}), weekly, 1 year",
            lambda s: dora_report(s, Scope(team=TEAM), year, bucket="week"),
            0.3,
            warm_only=True,
        ),
    ]
    flow = _flow_module()
    if flow is not None:
        now = END
        cases += [
            Case(
                "org flow, 90 days", lambda s: flow.flow_report(s, Scope(), last_90_days, now=now)
            ),
            Case(
                f"team flow ({TEAM}), weekly, 1 year",
                lambda s: flow.flow_report(s, Scope(team=TEAM), year, bucket="week", now=now),
            ),
        ]
    cases.append(
        Case(
            f"org DORA after {EVENTS:,} new events (refresh + report)",
            lambda s: dora_report(s, Scope(), last_90_days),
            2.0,
            refresh=True,
        )
    )
    cases = [replace(case, number=number) for number, case in enumerate(cases, 1)]
    if args.only is not None:
        cases = [case for case in cases if case.number in args.only]
    return cases


def _flow_module() -> Any:
    try:
        return importlib.import_module("diogen.metrics.flow")
    except ImportError:
        print("\nflow: diogen.metrics.flow is not there yet; its reports are skipped")
        return None


@dataclass
class Result:
    cold: Timing
    warm: list[Timing]
    rss_kb: int  # peak RSS of this process after the case


def measure(url: str, case: Case, args: argparse.Namespace) -> Result:
    """Time the case cold, then warm, and print where the time went right away (a run of
    hours should not lose its findings to a crash at the end)."""
    print(f"\n{case.number}. {case.name}: cold ...", end="", flush=True)
    engine = make_engine(url)  # a fresh engine: no connection, no cached statement
    cold = timed(engine, case, args.limit)
    engine.dispose()
    print(f" {_seconds(cold)}", end="", flush=True)
    warm: list[Timing] = []
    if not cold.stopped:
        engine = make_engine(url)
        if cold.seconds < WARM_UP_SECONDS:  # a slow cold call has warmed the caches already
            print("; warm-up ...", end="", flush=True)
            timed(engine, case, args.limit)
        print("; warm:", end="", flush=True)
        # The warm calls stop after `limit` seconds in all, so slow reports end too.
        while len(warm) < args.runs and sum(t.seconds for t in warm) < args.limit:
            warm.append(timed(engine, case, args.limit))
            print(f" {_seconds(warm[-1])}", end="", flush=True)
            if warm[-1].stopped:
                break
        engine.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f" (load average {os.getloadavg()[0]:.1f})", flush=True)
    result = Result(cold, warm, rss)
    breakdown(url, case, result, args)
    return result


def timed(engine: Engine, case: Case, limit: float) -> Timing:
    """One call of the case's report in a new session, interrupted after `limit` seconds."""
    clock = StatementClock(engine)
    stopped = False
    with Session(engine) as session:
        inserted = 0.0
        if case.refresh:
            started = time.perf_counter()
            append_events(session, END + timedelta(hours=1), EVENTS)
            inserted = time.perf_counter() - started
        refreshed = 0.0
        with clock.record() as statements, interrupted_after(session, limit):
            started = time.perf_counter()
            try:
                if case.refresh:
                    # Only the repositories the events made stale (none when --no-gold
                    # marked every one stale: nothing is fresh to keep fresh).
                    if freshness(session).fresh:
                        refresh_gold(session)
                    refreshed = time.perf_counter() - started
                case.run(session)
            except DBAPIError:
                if time.perf_counter() - started < limit:
                    raise
                stopped = True
            seconds = time.perf_counter() - started
        session.rollback()
    clock.detach()
    return Timing(seconds, statements, inserted, refreshed, stopped)


@contextmanager
def interrupted_after(session: Session, seconds: float) -> Iterator[None]:
    """Interrupt the session's running statement after `seconds` (sqlite3's interrupt,
    psycopg's cancel): a report whose plan has gone wrong would otherwise run for hours."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    stop = driver.interrupt if isinstance(driver, sqlite3.Connection) else driver.cancel
    timer = threading.Timer(seconds, stop)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _seconds(timing: Timing) -> str:
    return f">{timing.seconds:.0f} s (stopped)" if timing.stopped else f"{timing.seconds:.2f} s"


def replay(url: str, statements: list[Statement]) -> None:
    """Each statement again, alone, every row fetched: what the database itself costs."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement in statements:
            if not statement.text.lstrip().upper().startswith(("SELECT", "WITH")):
                continue  # the gold refresh's writes: timed in the report, not replayed
            started = time.perf_counter()
            cursor.execute(statement.text, statement.parameters)
            statement.rows = len(cursor.fetchall())
            statement.replayed = time.perf_counter() - started
        cursor.close()
    finally:
        raw.close()
        engine.dispose()


# Reporting ---------------------------------------------------------------------------------


def breakdown(url: str, case: Case, result: Result, args: argparse.Namespace) -> None:
    if case.refresh:
        inserts = [t.insert_seconds for t in result.warm] or [result.cold.insert_seconds]
        print(
            f"  inserting the {EVENTS:,} events themselves: cold {result.cold.insert_seconds:.2f}"
            f" s, warm median {statistics.median(inserts):.2f} s"
        )
        refreshes = [t.refresh_seconds for t in result.warm] or [result.cold.refresh_seconds]
        print(
            f"  of which the gold refresh: cold {result.cold.refresh_seconds:.2f} s,"
            f" warm median {statistics.median(refreshes):.2f} s"
        )
    print_statements("cold", result.cold)
    if result.warm:
        warm = sorted(result.warm, key=lambda t: t.seconds)[len(result.warm) // 2]
        if not args.no_replay:
            replay(url, warm.statements)
        print_statements("warm (the median run)", warm)
    if args.plans:
        print_plans(url, (warm if result.warm else result.cold).statements)


def summary(cases: list[Case], results: list[Result]) -> None:
    print(f"\nsummary (load average {os.getloadavg()[0]:.1f})")
    print_table(cases, results)


def print_generation(generated: Generated) -> None:
    total = sum(generated.rows.values())
    print("\nrows per table")
    for name, count in generated.rows.items():
        print(f"  {name:<26} {count:>12,}")
    print(f"  {'total':<26} {total:>12,}")
    if generated.seconds is not None:
        print(
            f"generation: {generated.seconds:.0f} s ({total / generated.seconds:,.0f} rows/s), "
            f"peak RSS {_mib(generated.peak_kb)}"
        )


def print_table(cases: list[Case], results: list[Result]) -> None:
    print(
        f"\n{'':3}{'measurement':<46}{'cold s':>8}{'warm s (median, n)':>24}"
        f"{'min-max':>14}{'target':>9}{'cold/t':>8}{'warm/t':>8}"
    )
    for case, result in zip(cases, results, strict=True):
        warm = [t.seconds for t in result.warm]
        median = statistics.median(warm) if warm else None
        target = case.target
        cold = (
            f">{result.cold.seconds:.0f}" if result.cold.stopped else f"{result.cold.seconds:.3f}"
        )
        print(
            f"{case.number:<3}{case.name:<46}{cold:>8}"
            f"{'' if median is None else f'{median:.3f} ({len(warm)})':>24}"
            f"{f'{min(warm):.3f}-{max(warm):.3f}' if warm else '':>14}"
            f"{'' if target is None else f'{target:g}':>9}"
            f"{_ratio(result.cold.seconds, None if case.warm_only else target):>8}"
            f"{_ratio(median, target):>8}"
        )
    peak = max(result.rss_kb for result in results)
    ratio = peak / 1024 / 1024
    print(f"peak RSS of the reports' process: {_mib(peak)} (target 1024 MiB: {ratio:.2f})")
    for case, result in zip(cases, results, strict=True):
        print(f"  after measurement {case.number}: {_mib(result.rss_kb)}")


def _ratio(seconds: float | None, target: float | None) -> str:
    return "" if seconds is None or target is None else f"{seconds / target:.2f}"


def print_statements(title: str, timing: Timing) -> None:
    statements = timing.statements
    executed = sum(s.seconds for s in statements)
    print(
        f"  {title}: {timing.seconds:.3f} s in all, {len(statements)} statements, "
        f"{executed:.3f} s in cursor.execute"
    )
    replayed = all(s.replayed is not None for s in statements) and statements
    print(f"  {'execute s':>10}{'to next s':>10}{'alone s':>9}{'rows':>9}  caller / statement")
    for statement in sorted(statements, key=lambda s: -max(s.seconds, s.until_next))[:SHOWN]:
        alone = f"{statement.replayed:.3f}" if replayed and statement.replayed is not None else ""
        rows = f"{statement.rows:,}" if statement.rows is not None else ""
        print(
            f"  {statement.seconds:>10.3f}{statement.until_next:>10.3f}{alone:>9}{rows:>9}  "
            f"{statement.caller}"
        )
        print(f"  {'':>38}  {' '.join(statement.text.split())[:TEXT]}")


def print_plans(url: str, statements: list[Statement]) -> None:
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement in sorted(statements, key=lambda s: -(s.replayed or s.seconds))[:3]:
            # EXPLAIN ANALYZE runs the statement: only for those that finished.
            analyzed = statement.replayed is not None
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyzed else "EXPLAIN "
            print(f"\nplan of {statement.caller}:")
            cursor.execute(
                ("EXPLAIN QUERY PLAN " if sqlite else prefix) + statement.text, statement.parameters
            )
            for row in cursor.fetchall():
                print(f"  {row[-1] if sqlite else row[0]}")
        cursor.close()
    finally:
        raw.close()
        engine.dispose()


def _mib(kb: int | None) -> str:
    return "?" if kb is None else f"{kb / 1024:,.0f} MiB"


if __name__ == "__main__":
    main()

"""`diogen worker`: process bronze events into silver and run scheduled syncs until stopped.

SIGTERM or Ctrl-C stop it gracefully: the batch in hand is applied and committed, a running
sync is finished, and the Kafka group is left so other workers take over at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from diogen.bus import make_bus
from diogen.cli.app import ConfigOption, DatabaseOption, app, database, info, settings_for
from diogen.logs import configure_json_logging
from diogen.processing.locks import make_locks
from diogen.processing.worker import BATCH_SIZE, Worker, collect_garbage_less_often

BusOption = Annotated[
    str | None,
    typer.Option(
        "--bus",
        metavar="embedded|kafka",
        help="Event bus (default: the settings').",
        show_default=False,
    ),
]
KafkaOption = Annotated[
    str | None,
    typer.Option(
        "--kafka", metavar="HOST:PORT", help="Kafka bootstrap servers.", show_default=False
    ),
]


@app.command("worker")
def worker(
    bus: BusOption = None,
    kafka: KafkaOption = None,
    schedule: Annotated[
        bool, typer.Option(help="Run scheduled syncs too (--no-schedule: events only).")
    ] = True,
    drain: Annotated[
        bool, typer.Option("--drain", help="Exit once the outbox and the bus are empty.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per batch.")] = BATCH_SIZE,
    log_level: Annotated[
        str, typer.Option(help="debug, info, warning or error; logs are JSON lines on stderr.")
    ] = "info",
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Process events into silver and run scheduled syncs, until SIGTERM or Ctrl-C."""
    settings = settings_for(db, config, bus=bus, kafka_bootstrap_servers=kafka)
    # As `diogen serve` logs: a sync asked through the API logs that request's id.
    configure_json_logging(log_level)
    collect_garbage_less_often()
    with database(settings) as engine:
        events = make_bus(settings, engine)
        locks = make_locks(settings, engine)
        runner = Worker(
            engine, settings, events, locks, batch_size=batch_size, schedule=schedule and not drain
        )
        try:
            with _stopping_on_signals(runner):
                stats = runner.drain() if drain else runner.run()
        finally:
            locks.close()
            events.close()
    outcome = stats.outcome
    info(
        f"worker stopped: {stats.relayed} events published, {outcome.processed} processed, "
        f"{outcome.rejected} rejected (quarantine), {outcome.dead} dead letters"
    )


@contextmanager
def _stopping_on_signals(runner: Worker) -> Iterator[None]:
    def stop(_signal: int, _frame: Any) -> None:
        info("stopping: finishing the current batch")
        runner.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""The database drops a worker's connections mid-batch (a failover, a restart, a killed
backend): the batch rolls back, the worker reconnects, takes its locks again and goes on, and
silver and gold end as an undisturbed run left them, with nothing in the dead letters."""

from __future__ import annotations

from typing import Any

import pytest
from bus_support import Snapshot, assert_gold_as_undisturbed, copy_bronze, snapshot
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from diogen.bus import make_bus
from diogen.bus.models import DeadLetter
from diogen.config import Settings
from diogen.db import make_engine, session_scope
from diogen.processing.locks import make_locks
from diogen.processing.processor import Outcome, Planned, Processor
from diogen.processing.worker import Worker

APP = "diogen-drop-test"


class DroppingProcessor(Processor):
    """Kills every backend of the worker (its own transaction's included) in chosen writes."""

    def __init__(self, *args: Any, admin: Engine, drops: set[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.admin, self.drops, self.writes = admin, drops, 0

    def _write(self, session: Session, plans: list[Planned], retrying: bool) -> Outcome:
        self.writes += 1
        if self.writes in self.drops:
            session.execute(text("SELECT 1"))  # the transaction is open
            with self.admin.begin() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :app"
                    ),
                    {"app": APP},
                )
        return super()._write(session, plans, retrying)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_dropped_connections_lose_nothing(
    reference: tuple[Engine, Snapshot], target: Engine, settings: Settings
) -> None:
    engine, expected = reference
    copy_bronze(engine, target, announce=True)
    url = target.url.update_query_dict({"application_name": APP})
    worker_engine = make_engine(url.render_as_string(hide_password=False))
    bus = make_bus(settings, worker_engine)
    locks = make_locks(settings, worker_engine)
    processor = DroppingProcessor(worker_engine, settings, admin=target, drops={3, 6})
    worker = Worker(
        worker_engine,
        settings,
        bus,
        locks,
        schedule=False,
        poll_seconds=0.2,
        batch_size=4,
        processor=processor,
    )
    try:
        stats = worker.drain()
    finally:
        locks.close()
        worker_engine.dispose()

    assert stats.errors >= 2 and processor.writes > 6
    assert snapshot(target) == expected
    assert_gold_as_undisturbed(target, engine)
    with session_scope(target) as session:
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 0

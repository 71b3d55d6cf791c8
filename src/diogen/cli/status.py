"""`diogen status`: per source the last sync, cursor, backlog, errors and dead letters."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer
from prometheus_client import generate_latest

from diogen.bus import make_bus
from diogen.cli.app import ConfigOption, DatabaseOption, app, database, settings_for
from diogen.db import session_scope
from diogen.processing import scheduler
from diogen.processing.status import PipelineStatus, pipeline_status, registry
from diogen.processing.worker import GROUP


class StatusFormat(StrEnum):
    table = "table"
    json = "json"
    prometheus = "prometheus"


@app.command("status")
def status(
    output: Annotated[
        StatusFormat,
        typer.Option("--format", help="Output format (prometheus: the text exposition format)."),
    ] = StatusFormat.table,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """The pipeline's state: syncs, cursors, unpublished and unprocessed events, errors."""
    settings = settings_for(db, config)
    with database(settings) as engine:
        bus = make_bus(settings, engine)
        try:
            with session_scope(engine) as session:
                said = scheduler.describe(scheduler.plan(session, settings))
                found = pipeline_status(session, bus, GROUP, said)
        finally:
            bus.close()
    if output is StatusFormat.json:
        typer.echo(json.dumps(found.as_dict(), indent=2))
    elif output is StatusFormat.prometheus:
        typer.echo(generate_latest(registry(found)).decode(), nl=False)
    else:
        typer.echo(render(found), nl=False)


def render(found: PipelineStatus) -> str:
    lines = [f"bus: {found.bus}, group {found.group}: {sum(found.lag.values())} events to process"]
    lines += [f"  {topic}: {lag}" for topic, lag in found.lag.items() if lag]
    lines.append(f"dead letters: {found.dead_letters}; stale gold windows: {found.stale_windows}")
    for s in found.sources:
        lines.append(f"{s.source}:")
        lines.append(
            f"  last sync: {s.last_status or 'never'} {_when(s.last_started)}"
            f" ({s.last_records} records)"
        )
        lines.append(f"  cursor updated: {_when(s.cursor_updated)}")
        lines.append(f"  unpublished events: {s.unpublished}")
        errors = f"  failed syncs since success: {s.failures_since_success}"
        if s.last_error:
            errors += f" (last error: {s.last_error.splitlines()[0]})"
        lines.append(errors)
        lines.append(f"  quarantined: {s.quarantined}; dead letters: {s.dead_letters}")
        lines.append(f"  scheduled syncs: {s.schedule or 'none'}")
    return "\n".join(lines) + "\n"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"

"""`diogen ingest SOURCE FILE`: push deployments and incidents from any tool (docs/ingest.md)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from diogen.accounts.audit import bump_data_version
from diogen.cli.app import ConfigOption, DatabaseOption, app, database, info, settings_for
from diogen.db import session_scope
from diogen.errors import InputError
from diogen.ingest.event_schema import MAX_EVENTS
from diogen.ingest.events import ingest_events


@app.command("ingest")
def ingest_command(
    source: Annotated[
        str,
        typer.Argument(metavar="SOURCE", help="Name of the sending tool, e.g. 'deploy-bot'."),
    ],
    path: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A JSON array of events, {\"events\": [...]}, or JSON Lines; '-' reads stdin.",
            allow_dash=True,
        ),
    ],
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Store deployment and incident events; bad ones are quarantined with their reason."""
    events = read_events(path)
    settings = settings_for(database_url, config)
    accepted, rejected = 0, 0
    with database(settings) as engine:
        for start in range(0, len(events), MAX_EVENTS):
            # One transaction per chunk: what was accepted stays if a later chunk fails.
            with session_scope(engine) as session:
                now = datetime.now(UTC)
                result = ingest_events(session, source, events[start : start + MAX_EVENTS], now)
                # The API's cached reports are keyed by the data version: change it with the
                # events, so a running `diogen serve` answers from them at once.
                bump_data_version(session)
            accepted += result.accepted
            rejected += len(result.rejected)
            for row in result.rejected:
                info(f"rejected event {start + row['index']} ({row['id']}): {row['error']}")
    info(f"{accepted} events stored, {rejected} rejected (kept in quarantine)")
    if rejected:
        raise typer.Exit(1)


def read_events(path: Path) -> list[Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", path=str(path)) from exc
    try:
        return _events(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not JSON: {exc}", path=str(path)) from exc


def _events(text: str) -> list[Any]:
    """A JSON array, an object with `events`, one event object, or one event per line."""
    if not text.strip():
        raise InputError("no events: the input is empty")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and isinstance(value.get("events"), list):
        return list(value["events"])
    return [value]

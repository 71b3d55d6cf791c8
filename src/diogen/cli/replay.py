"""`diogen replay`: rebuild silver from bronze without the network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from diogen.cli.app import (
    ConfigOption,
    DatabaseOption,
    app,
    database,
    info,
    interruptible,
    settings_for,
)
from diogen.errors import InputError
from diogen.ingest.replay import replay as run_replay


@app.command("replay")
def replay(
    source: Annotated[
        str | None,
        typer.Option(
            metavar="SOURCE", help="One source, e.g. git:flask (default: all).", show_default=False
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Only records fetched at or after this ISO date/time (UTC).",
            show_default=False,
        ),
    ] = None,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Normalise bronze again into silver, as the pipeline does, and mark gold windows."""
    settings = settings_for(db, config)
    start = _parse_since(since) if since else None
    with interruptible(), database(settings) as engine:
        result = run_replay(engine, settings, source=source, since=start)
    if not result.records:
        raise InputError(f"no bronze records{f' of {source}' if source else ''} to replay")
    outcome = result.outcome
    info(
        f"replayed {result.records} records of {len(result.sources)} source(s): "
        f"{outcome.processed} normalised, {outcome.rejected} rejected (quarantine), "
        f"{outcome.dead} dead letters (group 'replay')"
    )


def _parse_since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--since: not an ISO date or date-time: {text!r}", since=text) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

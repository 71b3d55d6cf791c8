"""`diogen dlq list|retry`: the messages processors could not apply, and applying them again."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from diogen.cli.app import (
    ConfigOption,
    DatabaseOption,
    OutputFormat,
    app,
    database,
    info,
    settings_for,
)
from diogen.db import session_scope
from diogen.errors import NotFoundError
from diogen.processing import deadletters
from diogen.processing.processor import Processor

dlq_app = typer.Typer(
    help="Dead letters: events that could not be processed.", no_args_is_help=True
)
app.add_typer(dlq_app, name="dlq")

SourceOption = Annotated[
    str | None, typer.Option(metavar="SOURCE", help="Only this source's.", show_default=False)
]


@dlq_app.command("list")
def list_letters(
    source: SourceOption = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.table
    ),
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Dead letters with their place, attempts and error."""
    settings = settings_for(db, config)
    with database(settings) as engine, session_scope(engine) as session:
        letters = [
            {
                "id": d.id,
                "group": d.group_name,
                "topic": d.topic,
                "partition": d.partition,
                "offset": d.offset,
                "source": d.source,
                "attempts": d.attempts,
                "failed_at": d.failed_at.isoformat(),
                "error": d.error,
                "value": d.value,
            }
            for d in deadletters.listing(session, source=source)
        ]
    if output is OutputFormat.json:
        typer.echo(json.dumps(letters, indent=2))
        return
    for d in letters:
        typer.echo(
            f"{d['id']}  {d['group']} {d['topic']}[{d['partition']}]@{d['offset']}  "
            f"{d['source'] or '-'}  attempts {d['attempts']}  {d['error']}"
        )
    info(f"{len(letters)} dead letter(s)")


@dlq_app.command("retry")
def retry(
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ID]...", help="Dead letters to retry (default: all).", show_default=False
        ),
    ] = None,
    source: SourceOption = None,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Process dead letters again: applied ones leave the list, the others keep their error."""
    settings = settings_for(db, config)
    with database(settings) as engine:
        with session_scope(engine) as session:
            letters = deadletters.listing(session, source=source)
        if ids:
            letters = [d for d in letters if d.id in set(ids)]
            missing = set(ids) - {d.id for d in letters}
            if missing:
                raise NotFoundError(f"no dead letter {sorted(missing)[0]}", id=sorted(missing)[0])
        applied = dead = skipped = 0
        for group in sorted({d.group_name for d in letters}):
            processor = Processor(engine, settings, group=group)
            messages = [deadletters.as_message(d) for d in letters if d.group_name == group]
            outcome = processor.handle(messages, retrying=True)
            applied += outcome.processed + outcome.rejected
            dead += outcome.dead
            skipped += outcome.skipped
    info(f"retried {len(letters)}: {applied} applied, {skipped} superseded, {dead} still failing")
    if dead:
        raise typer.Exit(1)

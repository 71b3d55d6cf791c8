"""`diogen export ENTITY`: one silver entity as CSV or JSON Lines, on stdout or into a file."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer

from diogen.cli.app import ConfigOption, DatabaseOption, app, database, info, settings_for
from diogen.db import session_scope
from diogen.errors import InputError
from diogen.silver.export import ENTITY_NAMES, WRITERS, open_export


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


@app.command("export")
def export_command(
    entity: Annotated[
        str,
        typer.Argument(
            metavar="ENTITY",
            help=f"What to export: {', '.join(ENTITY_NAMES)}.",
            show_default=False,
        ),
    ],
    output_format: Annotated[
        ExportFormat,
        typer.Option("--format", help="csv (with a header row) or jsonl (one object a line)."),
    ] = ExportFormat.csv,
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo",
            metavar="NAME",
            help="Only rows of this repository (for entities that belong to one).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write here instead of stdout; replaced only when the export succeeds.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Export every row of one entity, with names (repository, author email, ...) for ids."""
    settings = settings_for(database_url, config)
    with database(settings) as engine, session_scope(engine) as session:
        # Checks the entity and --repo before anything is written or any file is touched.
        prepared = open_export(session, entity, repo=repo)
        with _destination(output) as stream:
            count = WRITERS[output_format](prepared, stream)
    info(f"exported {count} {entity}")


@contextmanager
def _destination(output: Path | None) -> Iterator[TextIO]:
    if output is None:
        with _stdout() as stream:
            yield stream
    else:
        with _replacing(output) as stream:
            yield stream


@contextmanager
def _stdout() -> Iterator[TextIO]:
    """stdout as UTF-8 whatever the locale, without newline translation (the csv module's rule)."""
    sys.stdout.flush()
    stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    try:
        yield stream
        stream.flush()
    except BrokenPipeError:
        # The reader went away (`diogen export commits | head`): stop quietly, as Unix tools do.
        # Pending output goes to /dev/null so that flushing it at exit raises nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise typer.Exit(1) from None
    finally:
        # Leave sys.stdout usable: closing the wrapper would close the buffer under it.
        stream.detach()


@contextmanager
def _replacing(output: Path) -> Iterator[TextIO]:
    """A file next to `output`, renamed over it only once everything is written, so a failed
    export never leaves a truncated file nor destroys the previous one."""
    if output.is_dir():
        raise InputError(f"cannot write {output}: it is a directory", output=str(output))
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        partial.replace(output)
    except OSError as exc:
        raise InputError(
            f"cannot write {output}: {exc.strerror or exc}", output=str(output)
        ) from exc
    finally:
        partial.unlink(missing_ok=True)

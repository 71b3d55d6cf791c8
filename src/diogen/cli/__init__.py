"""The `diogen` command line. `main` turns every failure into one line on stderr and exit code 1
(set DIOGEN_DEBUG=1 to see the traceback of an unexpected one)."""

from __future__ import annotations

import logging
import os
import sys

from sqlalchemy.exc import SQLAlchemyError

from diogen.cli import db_commands, demo, export, metrics, sync  # noqa: F401 - registers commands
from diogen.cli.app import app
from diogen.errors import DiogenError


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("DIOGEN_LOG_LEVEL", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        app()
    except DiogenError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        _reraise_if_debugging()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _fail(f"database error: {reason}")
    except Exception as exc:
        _reraise_if_debugging()
        _fail(f"unexpected {exc.__class__.__name__}: {exc} (set DIOGEN_DEBUG=1 for details)")


def _reraise_if_debugging() -> None:
    if os.environ.get("DIOGEN_DEBUG"):
        raise


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message.splitlines()[0] if message else 'failed'}\n")
    sys.exit(1)


__all__ = ["app", "main"]

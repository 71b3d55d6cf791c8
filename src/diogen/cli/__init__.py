"""The `diogen` command line. `main` turns every failure into one line on stderr and exit code 1,
or 2 for a request that cannot be done as asked (DIOGEN_DEBUG=1 shows an unexpected traceback)."""

from __future__ import annotations

import logging
import os
import sys

from sqlalchemy.exc import SQLAlchemyError

from diogen.cli import (  # noqa: F401 - registers commands
    accounts,
    db_commands,
    demo,
    deployments,
    dlq,
    doctor,
    export,
    ingest,
    metrics,
    replay,
    serve,
    sources,
    status,
    sync,
    sync_asana,
    sync_github,
    sync_linear,
    sync_trackers,
    worker,
)
from diogen.cli.app import app
from diogen.errors import DiogenError, InputError, NotFoundError


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("DIOGEN_LOG_LEVEL", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        app()
    except NotFoundError as exc:
        _fail(str(exc))
    except InputError as exc:
        _fail(str(exc), code=2)
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


def _fail(message: str, code: int = 1) -> None:
    """One line on stderr; exit 2 for a request that cannot be done as asked, else 1."""
    sys.stderr.write(f"error: {message.splitlines()[0] if message else 'failed'}\n")
    sys.exit(code)


__all__ = ["app", "main"]

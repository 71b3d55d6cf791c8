"""Structured JSON logs, one object per line, each carrying the request id it belongs to.

The id is set by the API for each request (`api.middleware`) and by the worker while it runs
a sync an API request asked for (`processing.scheduler`), so the logs of that background work
name the request that caused it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from diogen.errors import InputError

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# uvicorn adds an ANSI-coloured copy of its message for terminals.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, request_id and any `extra=` fields, as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            entry["request_id"] = current
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


LEVELS = ("debug", "info", "warning", "error")


def configure_json_logging(level: str = "INFO") -> None:
    """Send every log record (ours, uvicorn's) to stderr as JSON lines."""
    if level.lower() not in LEVELS:
        raise InputError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The request middleware logs each request with its id; uvicorn's access line would repeat it.
    logging.getLogger("uvicorn.access").disabled = True

"""The error tree. Every error Diogen raises on purpose derives from `DiogenError`.

Each error carries the inputs that caused it, so a message can name them and the API can map
the class to an HTTP status in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only annotated: git reader processes import this module, not pydantic
    from pydantic import ValidationError


class DiogenError(Exception):
    """Root of every deliberate Diogen failure. `str(err)` is one line for a person."""

    http_status = 500
    type_slug = "internal"

    def __init__(self, message: str, **inputs: object) -> None:
        super().__init__(message)
        self.message = message
        self.inputs = inputs

    def __str__(self) -> str:
        return self.message


class ConfigError(DiogenError):
    """Settings or a config file are invalid."""

    http_status = 400
    type_slug = "invalid-config"


class InputError(DiogenError):
    """A caller asked for something that cannot be done as asked (bad argument, unknown name)."""

    http_status = 400
    type_slug = "invalid-input"


class NotFoundError(InputError):
    """A named thing (repository, entity, scope) does not exist."""

    http_status = 404
    type_slug = "not-found"


class BusyError(DiogenError):
    """Someone else is doing it right now (a sync of the same source); try again later."""

    http_status = 409
    type_slug = "busy"


class StorageError(DiogenError):
    """The database cannot be reached, or its schema is not what this version expects."""

    http_status = 503
    type_slug = "storage-unavailable"


class SourceError(DiogenError):
    """A data source (git repository, provider API) failed or returned something unusable."""

    http_status = 502
    type_slug = "source-failed"


class RejectedRecord(DiogenError):
    """One raw record could not be normalised; it goes to quarantine, the sync goes on."""

    http_status = 422
    type_slug = "rejected-record"


def validation_problems(exc: ValidationError) -> str:
    """'field: message; …' for a pydantic validation error, as one line; a whole-model error
    (no field) is its message alone."""
    parts = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        location = ".".join(map(str, error["loc"]))
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)

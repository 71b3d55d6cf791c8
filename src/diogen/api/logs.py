"""Request ids as the API accepts them from clients."""

from __future__ import annotations

import re
import uuid

# An incoming X-Request-ID is kept when it is a plain token; anything else is replaced, so a
# client cannot write arbitrary text into our logs.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def accept_request_id(given: str | None) -> str:
    return given if given and _VALID_ID.match(given) else uuid.uuid4().hex

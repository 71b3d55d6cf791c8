"""The audit log of writes, and the data version that analytics caches are keyed on.

Every write through the API calls `record_write` in its own transaction: the entry and the
version bump commit (or roll back) with the change itself, so a cache never sees a version
whose data it could not read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from diogen.accounts.models import AppState, AuditEntry
from diogen.silver.base import table_of

DATA_VERSION = "data_version"
# Values under these names never reach the log, whatever the caller passes.
SECRET_WORDS = ("password", "secret", "token", "key_text")


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    api_key_id: str | None = None


def record_write(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    *,
    now: datetime,
    organization_id: str | None = None,
    changes: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            id=uuid.uuid4().hex,
            at=now,
            user_id=actor.user_id,
            api_key_id=actor.api_key_id,
            organization_id=organization_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            request_id=request_id,
            changes=_scrub(changes) if changes is not None else None,
        )
    )
    bump_data_version(session)


def _scrub(changes: dict[str, Any]) -> dict[str, Any]:
    return {
        key: "[redacted]" if any(word in key.lower() for word in SECRET_WORDS) else value
        for key, value in changes.items()
    }


def bump_data_version(session: Session) -> None:
    """Add one to the version in a single statement, so concurrent writers never lose a bump."""
    table = table_of(AppState)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(name=DATA_VERSION, text_value=None, int_value=1)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"], set_={"int_value": table.c.int_value + 1}
        )
    )

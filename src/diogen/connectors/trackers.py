"""What the issue-tracker connectors share: status categories, issue keys, accounts, times.

Status categories are written in the flow metrics' own words (`todo`, `in_progress`, `done`)
so that every tracker's rows read alike. Accounts become identities whose person is keyed by
email when the tracker shows one, which merges them with the same person's git and code-host
identities; without an email the account is a person of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.silver import Identity, Person
from diogen.silver.base import table_of
from diogen.silver.keys import identity_id, person_id

# Keys are found in changes by `diogen.silver.work_links`; the trackers' code reads them here.
from diogen.silver.work_links import issue_keys as issue_keys

TODO = "todo"
IN_PROGRESS = "in_progress"
DONE = "done"
_CATEGORY_WORDS = {
    TODO: ("new", "todo", "backlog", "unstarted", "triage", "open"),
    IN_PROGRESS: ("indeterminate", "inprogress", "inflight", "started"),
    DONE: ("done", "completed", "complete", "canceled", "cancelled", "closed"),
}
_CATEGORY = {word: category for category, words in _CATEGORY_WORDS.items() for word in words}

PERSON = table_of(Person)
IDENTITY = table_of(Identity)
# A person row is created once; later syncs never rename or merge it behind a person's back.
# An identity follows what the tracker says, person included, unless a person locked it.
IDENTITY_UPDATE = ("person_id", "login", "email", "name", "is_bot", "url")


def status_category(raw: str | None) -> str | None:
    """A tracker's category key or name ('indeterminate', 'In Progress', 'started') → ours."""
    if raw is None:
        return None
    return _CATEGORY.get(re.sub(r"[^a-z]", "", raw.lower()))


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 text ('2024-01-01T10:00:00.000+0000', '…Z') or epoch seconds/milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 100_000_000_000 else value
        return datetime.fromtimestamp(seconds, UTC)
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Account:
    """A tracker account as the connector read it."""

    provider: str
    key: str
    name: str | None = None
    email: str | None = None
    login: str | None = None
    is_bot: bool = False
    url: str | None = None


def account_rows(account: Account, source: str) -> tuple[list[SilverRow], str]:
    """Person and identity rows of `account`, and the identity's id."""
    email = account.email.strip().lower() if account.email else None
    canonical = f"email:{email}" if email else f"{account.provider}:{account.key}"
    person = {
        "id": person_id(canonical),
        "display_name": account.name or account.login or email,
        "primary_email": email,
        "is_bot": account.is_bot,
    }
    identity = {
        "id": identity_id(account.provider, account.key),
        "person_id": person["id"],
        "provider": account.provider,
        "key": account.key,
        "login": account.login,
        "email": email,
        "name": account.name,
        "is_bot": account.is_bot,
        "person_locked": False,
        "source": source,
        "external_id": account.key,
        "url": account.url,
    }
    rows = [
        SilverRow(PERSON, person, ()),
        SilverRow(IDENTITY, identity, IDENTITY_UPDATE, "person_locked"),
    ]
    return rows, str(identity["id"])

"""Identity resolution: which person an account belongs to.

Accounts are grouped by one canonical key: a GitHub noreply address stands for its login,
otherwise the address after `.mailmap` is applied, lower-cased; with no address, the name.
Two git addresses that `.mailmap` maps to one address therefore land on one person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from diogen.silver.keys import identity_id, person_id

NOREPLY = re.compile(
    r"^(?:\d+\+)?([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)@users\.noreply\.github\.com$", re.I
)


@dataclass(frozen=True, slots=True)
class Account:
    """One author or committer line: raw name and email, and what `.mailmap` made of them."""

    name: str
    email: str
    mailmap_name: str
    mailmap_email: str


def canonical_key(account: Account) -> str:
    email = (account.mailmap_email or account.email).strip().lower()
    login = github_login(email) or github_login(account.email.strip().lower())
    if login:
        return f"github:{login.lower()}"
    if email:
        return f"email:{email}"
    return f"name:{(account.mailmap_name or account.name).strip()}"


def github_login(email: str) -> str | None:
    match = NOREPLY.match(email)
    return match.group(1) if match else None


def git_identity_rows(
    account: Account, bot: re.Pattern[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The person row and the identity row for a git author or committer."""
    key = account.email.strip().lower() or f"name:{account.name.strip()}"
    display = account.mailmap_name or account.name
    is_bot = bool(bot.search(account.name) or bot.search(account.email))
    canonical = canonical_key(account)
    person = {
        "id": person_id(canonical),
        "display_name": display,
        "primary_email": (account.mailmap_email or account.email).strip().lower() or None,
        "is_bot": is_bot,
    }
    identity = {
        "id": identity_id("git", key),
        "person_id": person["id"],
        "provider": "git",
        "key": key,
        "login": github_login(account.email.strip().lower()),
        "email": account.email.strip() or None,
        "name": account.name,
        "is_bot": is_bot,
        "person_locked": False,
        "source": "git",
        "external_id": key,
        "url": None,
    }
    return person, identity

"""What normalising a GitHub record needs besides the record: its repository and the rules.

Every GitHub row's id derives from the instance (`source`), the repository's full name and
GitHub's own id or number, so the sync and webhooks write the very same rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from diogen.config import BOT_PATTERN
from diogen.connectors.base import SilverRow
from diogen.connectors.github.config import DeploymentRules
from diogen.ids import stable_id
from diogen.silver import Identity, Person
from diogen.silver.base import table_of
from diogen.silver.keys import identity_id, person_id, repository_id

PERSON = table_of(Person)
IDENTITY = table_of(Identity)
# A GitHub account's person is fixed by its login; only what GitHub says about it follows.
IDENTITY_UPDATE = ("login", "is_bot", "url")


def parse_time(value: str | None) -> datetime | None:
    """GitHub's ISO 8601 timestamps ('2011-01-26T19:01:12Z') → aware datetimes."""
    return datetime.fromisoformat(value) if value else None


def source_of(html_url: str) -> str:
    """The source name of the GitHub instance serving `html_url`."""
    host = urlsplit(html_url).netloc
    return "github" if host == "github.com" else f"github@{host}"


@dataclass(frozen=True)
class RepoContext:
    source: str
    full_name: str
    rules: DeploymentRules = field(default_factory=DeploymentRules)
    bot_pattern: str = BOT_PATTERN

    @property
    def repository_id(self) -> str:
        # By name, as the git connector does: a renamed repository starts anew.
        return repository_id(self.source, self.full_name.lower())

    def pull_request_id(self, number: int) -> str:
        return stable_id(self.source, "pull_request", self.full_name.lower(), number)

    def entity_id(self, entity: str, external_id: object) -> str:
        """Ids of things GitHub numbers instance-wide (reviews, runs, deployments)."""
        return stable_id(self.source, entity, external_id)

    @cached_property
    def bot(self) -> re.Pattern[str]:
        return re.compile(self.bot_pattern, re.I)

    @cached_property
    def environments(self) -> re.Pattern[str]:
        return re.compile(self.rules.environment_pattern, re.I)

    def account(self, user: dict[str, Any] | None) -> tuple[list[SilverRow], str | None]:
        """Person and identity rows of a REST user or GraphQL actor; (rows, identity id)."""
        if not user or not user.get("login"):
            return [], None  # a deleted account ("ghost") or none at all
        login: str = user["login"]
        is_bot = (
            login.endswith("[bot]")
            or user.get("type") == "Bot"
            or user.get("__typename") == "Bot"
            or bool(self.bot.search(login))
        )
        key = login.lower()
        provider = self.source
        canonical = f"{provider}:{key}"
        external = user.get("id") if "type" in user else user.get("databaseId")
        person = {"id": person_id(canonical), "display_name": login, "primary_email": None}
        person_identity = identity_id(provider, key)
        identity = {
            "id": person_identity,
            "person_id": person["id"],
            "provider": provider,
            "key": key,
            "login": login,
            "email": None,
            "name": login,
            "is_bot": is_bot,
            "person_locked": False,
            "source": self.source,
            "external_id": None if external is None else str(external),
            "url": user.get("html_url") or user.get("url"),
        }
        rows = [
            SilverRow(PERSON, {**person, "is_bot": is_bot}, ()),
            SilverRow(IDENTITY, identity, IDENTITY_UPDATE, "person_locked"),
        ]
        return rows, person_identity

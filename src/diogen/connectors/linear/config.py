"""The Linear source's typed config: which teams, which API, how to authenticate."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

from diogen.config import BOT_PATTERN

API_URL = "https://api.linear.app/graphql"
TEAM_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
# Personal API keys go in the Authorization header as they are; OAuth tokens as Bearer.
PERSONAL_KEY_PREFIX = "lin_api_"


class LinearConfig(BaseModel):
    """A Linear workspace (the one the key belongs to) and the teams to read."""

    teams: list[str] = Field(min_length=1)
    api_key: SecretStr
    api_url: str = API_URL
    # The workspace's organization id (webhooks name it); read from the API when not given.
    organization: str | None = None
    bot_pattern: str = BOT_PATTERN
    page_size: int = Field(default=50, ge=1, le=250)
    # History entries fetched with each issue; the rest are paged per issue.
    history_page: int = Field(default=50, ge=1, le=250)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url

    @field_validator("teams")
    @classmethod
    def _team_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not TEAM_KEY.match(key):
                raise ValueError(f"{key!r} is not a Linear team key")
        return list(dict.fromkeys(key.upper() for key in keys))

    @property
    def authorization(self) -> str:
        key = self.api_key.get_secret_value()
        return key if key.startswith(PERSONAL_KEY_PREFIX) else f"Bearer {key}"

    def source(self, organization: str) -> str:
        return f"linear@{organization}"

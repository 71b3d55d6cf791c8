"""The Asana source's typed config: which projects, how to authenticate, where points are."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

from diogen.config import BOT_PATTERN

API_URL = "https://app.asana.com/api/1.0"
GID = re.compile(r"^[0-9]+$")
POINTS_FIELD = "Story Points"


class AsanaConfig(BaseModel):
    """Asana projects (by gid), read with a personal access token."""

    projects: list[str] = Field(min_length=1)
    token: SecretStr
    api_url: str = API_URL
    # The number custom field holding a task's story points, by name (case-insensitive).
    points_field: str = POINTS_FIELD
    bot_pattern: str = BOT_PATTERN
    page_size: int = Field(default=100, ge=1, le=100)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url.rstrip("/")

    @field_validator("projects")
    @classmethod
    def _gids(cls, gids: list[str]) -> list[str]:
        for gid in gids:
            if not GID.match(gid):
                raise ValueError(f"{gid!r} is not an Asana project gid (digits)")
        return list(dict.fromkeys(gids))

    @property
    def source(self) -> str:
        return f"asana@{urlsplit(self.api_url).netloc.lower()}"

"""The Jira source's typed config: which site, which projects or boards, how to authenticate,
which field holds story points and which issues are incidents."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from diogen.config import BOT_PATTERN

PROJECT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Company-managed projects call the field "Story Points", team-managed ones "Story point
# estimate"; the first of these a site has, in this order, holds an issue's points.
POINTS_FIELDS = ("Story Points", "Story point estimate")


class IncidentRules(BaseModel):
    """Issues that are incidents: any matching type, label or priority (case-insensitive)."""

    types: list[str] = Field(default_factory=lambda: ["Incident"])
    labels: list[str] = Field(default_factory=list)
    priorities: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, types: list[str] | None, labels: list[str], priorities: list[str]) -> IncidentRules:
        """The rules of these settings (`types` None: the default type)."""
        if types is None:
            return cls(labels=labels, priorities=priorities)
        return cls(types=types, labels=labels, priorities=priorities)


class JiraConfig(BaseModel):
    """A Jira site: Cloud (REST v3, email + API token) or Server/Data Center (REST v2, PAT)."""

    url: str
    projects: list[str] = Field(default_factory=list)
    boards: list[int] = Field(default_factory=list)
    # Cloud authenticates with an account's email and an API token; Server with a PAT.
    email: str | None = None
    token: SecretStr
    flavor: Literal["cloud", "server"] | None = None
    points_fields: list[str] = Field(default_factory=lambda: list(POINTS_FIELDS))
    incidents: IncidentRules = Field(default_factory=IncidentRules)
    bot_pattern: str = BOT_PATTERN
    page_size: int = Field(default=100, ge=1, le=1000)
    # JQL compares `updated` in the user's time zone at minute precision: re-read this much
    # before the cursor so no zone offset or clock skew loses an update.
    overlap_hours: int = Field(default=24, ge=0)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url.rstrip("/")

    @field_validator("projects")
    @classmethod
    def _project_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not PROJECT_KEY.match(key):
                raise ValueError(f"{key!r} is not a Jira project key")
        return [key.upper() for key in keys]

    @model_validator(mode="after")
    def _checks(self) -> JiraConfig:
        if not self.projects and not self.boards:
            raise ValueError("give at least one project (--project) or board (--board)")
        if self.is_cloud and not self.email:
            raise ValueError("Jira Cloud needs the account's email with its API token")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc.lower()

    @property
    def is_cloud(self) -> bool:
        if self.flavor is not None:
            return self.flavor == "cloud"
        return self.host.endswith(".atlassian.net")

    @property
    def source(self) -> str:
        return f"jira@{self.host}"

    @property
    def api(self) -> str:
        """The platform REST root: v3 on Cloud, v2 on Server/Data Center."""
        return f"rest/api/{3 if self.is_cloud else 2}"

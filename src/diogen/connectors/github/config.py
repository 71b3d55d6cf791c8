"""The GitHub source's typed config: what to sync, how to authenticate, what a deployment is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from diogen.config import BOT_PATTERN, PRODUCTION_ENVIRONMENT_PATTERN

PUBLIC_API = "https://api.github.com"
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class DeploymentRules(BaseModel):
    """What counts as a deployment in one repository (DESIGN.md §5)."""

    model_config = ConfigDict(extra="forbid")

    # GitHub Deployments whose environment matches.
    environment_pattern: str = PRODUCTION_ENVIRONMENT_PATTERN
    # Actions workflow runs whose workflow name or path matches (None: none are deployments).
    workflow_pattern: str | None = None
    workflow_branch_pattern: str | None = None
    workflow_environment: str = "production"
    # Published releases (neither draft nor pre-release) deploy their tag's commit.
    releases: bool = False

    @field_validator("environment_pattern", "workflow_pattern", "workflow_branch_pattern")
    @classmethod
    def _must_compile(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class IssueRules(BaseModel):
    """Issues that are incidents (production failures): any label or issue type listed here,
    case-insensitive. None listed: issues are not synced at all."""

    labels: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.labels or self.types)

    def match(self, issue: dict[str, Any]) -> str | None:
        """The rule an issue matches ("label:incident", "type:Incident"), or None."""
        wanted = {label.lower() for label in self.labels}
        for label in issue.get("labels") or []:
            name = label.get("name", "") if isinstance(label, dict) else str(label)
            if name.lower() in wanted:
                return f"label:{name}"
        kind = (
            (issue.get("type") or {}).get("name") if isinstance(issue.get("type"), dict) else None
        )
        if kind and kind.lower() in {t.lower() for t in self.types}:
            return f"type:{kind}"
        return None


class GitHubSettings(BaseModel):
    """The `[github]` section of diogen.toml."""

    model_config = ConfigDict(extra="forbid")

    incident_labels: list[str] = Field(default_factory=list)
    incident_types: list[str] = Field(default_factory=list)
    # Rules for every repository (over the defaults), then per repository ("OWNER/NAME").
    deployments: dict[str, Any] = Field(default_factory=dict)
    repositories: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("repositories")
    @classmethod
    def _owner_name(cls, rules: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for repo in rules:
            if not REPO_NAME.match(repo):
                raise ValueError(f"{repo!r} is not OWNER/NAME")
        return rules

    def rules(
        self, base: dict[str, Any], given: dict[str, Any]
    ) -> tuple[DeploymentRules, dict[str, DeploymentRules]]:
        """The common rules and each listed repository's: defaults (`base`), then this
        section's `deployments`, then the repository's own, then `given` (the command line)."""
        common = {**base, **self.deployments}
        return DeploymentRules(**{**common, **given}), {
            repo: DeploymentRules(**{**common, **own, **given})
            for repo, own in self.repositories.items()
        }


class GitHubAppConfig(BaseModel):
    """A GitHub App: its id (or client id), its private key (the PEM text), and optionally the
    installation to act as (else found from the repository or organisation)."""

    app_id: str = Field(min_length=1)
    private_key: SecretStr
    installation_id: int | None = Field(default=None, ge=1)


class GitHubConfig(BaseModel):
    """A GitHub source: explicit repositories or every repository of an org or user."""

    repos: list[str] = Field(default_factory=list)
    org: str | None = None
    tokens: list[SecretStr] = Field(default_factory=list)
    # A GitHub App instead of tokens.
    app: GitHubAppConfig | None = None
    api_url: str = PUBLIC_API
    graphql_url: str | None = None
    rules: DeploymentRules = Field(default_factory=DeploymentRules)
    incidents: IssueRules = Field(default_factory=IssueRules)
    # Per-repository rules ("owner/name" → rules), over `rules`.
    repo_rules: dict[str, DeploymentRules] = Field(default_factory=dict)
    bot_pattern: str = BOT_PATTERN
    # An organisation's teams, their members and repositories (with `org` only).
    teams: bool = True
    # Commits and ancestry (what deployed-commit linking needs): from a clone (falling back
    # to the API for a repository that cannot be cloned), from the API only, or not at all.
    commits: Literal["clone", "api", "none"] = "clone"
    cache_dir: Path = Path(".diogen-cache")
    git_jobs: int = Field(default=2, ge=1)
    workflow_jobs: bool = True
    # Check runs and commit statuses of the newest commits of the default branch.
    checks: bool = False
    checks_commits: int = Field(default=20, ge=1, le=100)
    page_size: int = Field(default=100, ge=1, le=100)
    # Pull requests per GraphQL page: nested reviews and commits make large pages costly.
    pull_request_page_size: int = Field(default=25, ge=1, le=100)
    # Deployments still open this long after creation are read again on each sync.
    deployment_lookback_days: int = Field(default=7, ge=0)
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _legacy_clone(cls, data: Any) -> Any:
        """`clone: false`, as configs stored before `commits` say it: no commits at all."""
        if isinstance(data, dict) and "clone" in data:
            data = dict(data)
            clone = data.pop("clone")
            data.setdefault("commits", "clone" if clone else "none")
        return data

    @field_validator("repos")
    @classmethod
    def _owner_name(cls, repos: list[str]) -> list[str]:
        for repo in repos:
            if not REPO_NAME.match(repo):
                raise ValueError(f"{repo!r} is not OWNER/NAME")
        return repos

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _one_scope(self) -> GitHubConfig:
        if bool(self.repos) == bool(self.org):
            raise ValueError("give either repositories (OWNER/NAME) or an organisation, not both")
        if self.app is not None and self.tokens:
            raise ValueError("authenticate with tokens or with a GitHub App, not both")
        owners = {repo.split("/")[0].lower() for repo in self.repos}
        if self.app is not None and len(owners) > 1:
            raise ValueError(
                "a GitHub App installation covers one owner: sync each owner's repositories "
                "separately"
            )
        return self

    @property
    def graphql_endpoint(self) -> str:
        """api.github.com → /graphql; Enterprise https://host/api/v3 → https://host/api/graphql."""
        if self.graphql_url:
            return self.graphql_url
        if self.api_url.endswith("/api/v3"):
            return self.api_url.removesuffix("/v3") + "/graphql"
        return self.api_url + "/graphql"

    @property
    def host(self) -> str:
        """The GitHub instance: 'github.com' for the public API, else the API's host."""
        netloc = urlsplit(self.api_url).netloc
        return "github.com" if netloc == "api.github.com" else netloc

    @property
    def source(self) -> str:
        return "github" if self.host == "github.com" else f"github@{self.host}"

    def rules_for(self, full_name: str) -> DeploymentRules:
        """The repository's own rules (its name in any case), else the common ones."""
        for name, rules in self.repo_rules.items():
            if name.lower() == full_name.lower():
                return rules
        return self.rules

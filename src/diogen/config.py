"""Settings: `DIOGEN_*` environment variables, an optional `diogen.toml`, command-line options.

Precedence, highest first: explicit overrides (command-line options), environment, config file,
defaults. Nothing is read at import time; call `load_settings` at the edge.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from diogen.errors import ConfigError

CONFIG_FILE_NAME = "diogen.toml"
# v1.2.3, 1.2.3, v1.2, each optionally followed by +build metadata (DESIGN.md §5).
RELEASE_PATTERN = r"^v?\d+\.\d+(\.\d+)?(\+[0-9A-Za-z.-]+)?$"
# The same, allowing a pre-release suffix such as -rc1 before the build metadata.
PRERELEASE_PATTERN = r"^v?\d+\.\d+(\.\d+)?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
# Environments whose deployments are production ones, searched case-insensitively.
PRODUCTION_ENVIRONMENT_PATTERN = r"^prod(uction)?$"
HOTFIX_PATTERN = r"(?i)hotfix"
BOT_PATTERN = r"(\[bot\]|-bot\b|^dependabot|^renovate|^github-actions|noreply@github\.com$)"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "diogen"


class Settings(BaseSettings):
    """Every setting Diogen reads. The same model backs the CLI, the config file and the API."""

    model_config = SettingsConfigDict(env_prefix="DIOGEN_", extra="forbid")

    database_url: str = "sqlite:///./diogen.db"
    cache_dir: Path = _default_cache_dir()
    release_pattern: str | None = None
    include_prereleases: bool = False
    production_environment: str = PRODUCTION_ENVIRONMENT_PATTERN
    benchmarks: Literal["2023", "2024", "2021"] = "2023"
    bot_pattern: str = BOT_PATTERN
    git_jobs: int = 2
    # How far back an incident looks for the deployment that caused it (docs/metrics.md).
    incident_attribution_hours: float = Field(72.0, ge=0)
    # Pull requests whose head branch or a label matches this are hotfixes (docs/metrics.md).
    hotfix_pattern: str = HOTFIX_PATTERN
    # Verifies POST /api/v1/webhooks/github (DIOGEN_GITHUB_WEBHOOK_SECRET); unset: refused.
    github_webhook_secret: SecretStr | None = None
    # Verify POST /api/v1/webhooks/{jira,linear,asana} (docs/trackers.md); unset: refused.
    # Asana's is a key of your own: each hook's URL carries a token derived from it, and
    # deliveries are verified with the secret that hook's handshake gave.
    jira_webhook_secret: SecretStr | None = None
    linear_webhook_secret: SecretStr | None = None
    asana_webhook_secret: SecretStr | None = None
    # Issue trackers (docs/trackers.md): what `diogen sync jira|linear|asana` use when their
    # options are not given.
    jira_url: str | None = None
    jira_email: str | None = None
    jira_token: SecretStr | None = None
    jira_projects: list[str] = Field(default_factory=list)
    jira_points_fields: list[str] = Field(default_factory=list)
    jira_incident_types: list[str] | None = None  # None: ["Incident"]; []: no type
    jira_incident_labels: list[str] = Field(default_factory=list)
    jira_incident_priorities: list[str] = Field(default_factory=list)
    linear_api_key: SecretStr | None = None
    linear_teams: list[str] = Field(default_factory=list)
    asana_token: SecretStr | None = None
    asana_projects: list[str] = Field(default_factory=list)
    asana_points_field: str | None = None
    # GitHub credentials of the worker's scheduled syncs (`diogen sync github` takes options):
    # DIOGEN_GITHUB_TOKEN (one token or a pool, comma-separated; else GITHUB_TOKEN) and, for a
    # source synced as a GitHub App, DIOGEN_GITHUB_APP_PRIVATE_KEY (the .pem file).
    github_token: SecretStr | None = None
    github_app_private_key: Path | None = None
    # Encrypts the secrets of stored source connections (docs/api.md, "Source connections"):
    # Fernet keys, comma-separated; the first encrypts, every one decrypts (key rotation).
    secret_key: SecretStr | None = None
    # The `[github]` section: incident rules, deployment rules per repository (docs/github.md).
    github: dict[str, Any] = Field(
        default_factory=dict,
        description="GitHub source rules: incident_labels, incident_types, deployments "
        "(rules for every repository) and repositories (rules per OWNER/NAME).",
    )
    # How often an open dashboard page asks whether new data arrived.
    dashboard_poll_seconds: int = Field(30, ge=1)
    # The REST API (`diogen serve`, docs/api.md).
    redis_url: str | None = Field(
        None,
        description="Redis URL (e.g. redis://127.0.0.1:6379/0) for the API's rate limits and "
        "analytics cache, shared by every worker; in-process when unset.",
    )
    jwt_secret: SecretStr | None = Field(
        None,
        description="Key that signs API access tokens; when unset one is generated once and "
        "kept in the database, so every worker and restart shares it.",
    )
    access_token_minutes: int = Field(
        15, ge=1, le=1440, description="Lifetime of an API access token, in minutes."
    )
    refresh_token_days: int = Field(
        14, ge=1, le=365, description="Lifetime of an API refresh token, in days."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser (CORS); none by default.",
    )
    rate_limit_per_minute: int = Field(
        600, ge=1, description="Requests per minute one API key or signed-in user may make."
    )
    ip_rate_limit_per_minute: int = Field(
        1200, ge=1, description="Requests per minute one client address may make to /api/v1."
    )
    max_request_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body the API accepts, in bytes."
    )
    read_timeout_seconds: float = Field(
        30,
        ge=0,
        description="Longest a PostgreSQL statement of an API read (GET) may run before it is "
        "cancelled and the request answered 504; 0: no limit. Writes are never limited.",
    )
    analytics_cache_seconds: int = Field(
        300,
        ge=0,
        description="How long an analytics answer may be served from cache when no write "
        "through the API and no finished sync has changed the data since; 0 turns caching off.",
    )
    warm_reports: bool = Field(
        True,
        description="`diogen serve` computes the reports asked for before, and the dashboard's "
        "first views, in the background after it starts and after every data change, so that "
        "pages find them cached (docs/api.md); false: each is computed when first asked.",
    )
    warm_reports_limit: int = Field(
        300,
        ge=1,
        le=10_000,
        description="How many reports are kept warm: the most asked, then the dashboard "
        "pages' default views.",
    )

    # The event pipeline (`diogen worker`, docs/pipeline.md).
    bus: Literal["embedded", "kafka"] = Field(
        "embedded",
        description="Where bronze events are published: a log table in the database, or Kafka.",
    )
    kafka_bootstrap_servers: str | None = Field(
        None, description="Kafka brokers, e.g. 127.0.0.1:9092 (required with bus = 'kafka')."
    )
    bus_partitions: int = Field(
        6, ge=1, le=1000, description="Partitions of each topic (Kafka topics created by Diogen)."
    )
    bus_retention_hours: float = Field(
        168.0, gt=0, description="How long published events are kept once every group read them."
    )
    schedule_commits_minutes: float = Field(
        60.0, ge=0, description="Minutes between syncs of code sources (git); 0 turns them off."
    )
    schedule_pull_requests_minutes: float = Field(
        30.0,
        ge=0,
        description="Minutes between syncs of pull-request sources (GitHub); 0 turns them off.",
    )
    schedule_issues_minutes: float = Field(
        15.0,
        ge=0,
        description="Minutes between syncs of issue trackers (Jira, Linear, Asana); 0 turns "
        "them off.",
    )
    schedule_sprints_minutes: float = Field(
        60.0, ge=0, description="Minutes between syncs of sprint sources."
    )
    schedule_minutes: dict[str, float] = Field(
        default_factory=dict,
        description="Per-source sync interval in minutes, e.g. {'git:flask' = 10}; 0 turns "
        "a source's scheduled syncs off.",
    )

    @field_validator("release_pattern", "production_environment", "bot_pattern", "hotfix_pattern")
    @classmethod
    def _must_compile(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @field_validator("git_jobs")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @property
    def effective_release_pattern(self) -> str:
        """The tag pattern that makes a release: configured, else the default for prereleases."""
        if self.release_pattern:
            return self.release_pattern
        return PRERELEASE_PATTERN if self.include_prereleases else RELEASE_PATTERN

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from overrides, environment and `config_file` (or `./diogen.toml` if present).

    Overrides whose value is None are ignored, so CLI options that were not given fall through.
    """
    path = _config_path(config_file)
    given = {key: value for key, value in overrides.items() if value is not None}

    class _Settings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        return _Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        where = f" (config file {path})" if path else ""
        raise ConfigError(f"invalid settings{where}: {problems}", config_file=path) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}", config_file=path) from exc


def _config_path(config_file: Path | None) -> Path | None:
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file not found: {config_file}", config_file=config_file)
        return config_file
    default = Path(CONFIG_FILE_NAME)
    return default if default.is_file() else None

"""What each kind of connection is: the connector config class that validates its options (the
one `diogen sync <kind>` builds), which of that config's fields are secrets, which the server
decides (paths, parallelism), and the sync source name it produces.

A connection's options are checked by building the very connector config with them, with a
stand-in for each secret, so an option the CLI would refuse is refused here with the same
words, and the real secrets never meet a validation message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import BaseModel, ValidationError

from diogen.config import Settings
from diogen.connectors.asana import AsanaConfig, AsanaConnector
from diogen.connectors.base import Connector
from diogen.connectors.git import GitConfig, GitConnector
from diogen.connectors.git.repo import default_name
from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.connectors.jira import JiraConfig, JiraConnector
from diogen.connectors.linear import LinearConfig, LinearConnector
from diogen.errors import InputError, validation_problems
from diogen.ingest.credentials import split_tokens

STAND_IN = "stand-in-secret"
Build = Callable[[], Connector]


@dataclass(frozen=True)
class Kind:
    name: str
    model: type[BaseModel]
    # Secret names a connection of this kind takes; the first one is needed to sync.
    secrets: tuple[str, ...]
    # Fields of the config the server sets (or the secrets fill): never options.
    reserved: frozenset[str]
    connector: Callable[[Any], Connector]

    @property
    def options(self) -> list[str]:
        return sorted(set(self.model.model_fields) - self.reserved)

    def full_config(
        self, options: Mapping[str, Any], secrets: Mapping[str, str], settings: Settings
    ) -> BaseModel:
        """The connector config of these options and secrets, or one line saying what is wrong."""
        server: dict[str, Any] = {}
        fields = self.model.model_fields
        if "bot_pattern" in fields:
            server["bot_pattern"] = settings.bot_pattern
        if "cache_dir" in fields:
            server["cache_dir"] = settings.cache_dir
        if self.name == "git":
            server.update(
                release_pattern=settings.effective_release_pattern, jobs=settings.git_jobs
            )
        if self.name == "github":
            server.update(
                git_jobs=settings.git_jobs, tokens=split_tokens([secrets.get("token", "")])
            )
        else:
            server.update({name: value for name, value in secrets.items()})
        try:
            return self.model.model_validate({**server, **options, **_reserved(self, server)})
        except ValidationError as exc:
            raise InputError(
                f"invalid {self.name} options: {validation_problems(exc)}", kind=self.name
            ) from exc

    def source(self, config: BaseModel) -> str | None:
        """The sync source a connector of this config writes under (None: not known yet)."""
        if isinstance(config, GitConfig):
            return f"git:{config.name or default_name(config.location)}"
        if isinstance(config, LinearConfig):
            return config.source(config.organization) if config.organization else None
        source = getattr(config, "source", None)
        return source if isinstance(source, str) else None

    def build(self, config: BaseModel) -> Build:
        return partial(self.connector, config)


def _reserved(kind: Kind, server: dict[str, Any]) -> dict[str, Any]:
    # What the server decides wins over options (check_options refuses them beforehand).
    return {key: value for key, value in server.items() if key in kind.reserved}


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("git", GitConfig, (), frozenset({"jobs", "cache_dir"}), GitConnector),
        Kind(
            "github",
            GitHubConfig,
            ("token", "webhook_secret"),
            frozenset({"tokens", "app", "cache_dir", "git_jobs"}),
            GitHubConnector,
        ),
        Kind("jira", JiraConfig, ("token",), frozenset({"token"}), JiraConnector),
        Kind("linear", LinearConfig, ("api_key",), frozenset({"api_key"}), LinearConnector),
        Kind("asana", AsanaConfig, ("token",), frozenset({"token"}), AsanaConnector),
    )
}
KIND_NAMES = tuple(KINDS)


def kind_named(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise InputError(f"unknown kind {name!r}: one of {', '.join(KIND_NAMES)}", kind=name)
    return kind


def check_options(kind: Kind, options: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The options as the config class reads them (e.g. project keys upper-cased), checked with
    stand-ins for the secrets; the source they produce is `kind.source` of the result."""
    secret = sorted(set(options) & (set(kind.secrets) | {"tokens", "api_key", "token", "app"}))
    if secret:
        raise InputError(
            f"{', '.join(secret)} cannot be an option of a {kind.name} connection: secrets go "
            f"in `secrets` ({', '.join(kind.secrets) or 'none for this kind'})",
            kind=kind.name,
        )
    unknown = sorted(set(options) - set(kind.options))
    if unknown:
        raise InputError(
            f"unknown {kind.name} option(s) {', '.join(unknown)}; known: {', '.join(kind.options)}",
            kind=kind.name,
        )
    config = kind.full_config(options, {name: STAND_IN for name in kind.secrets}, settings)
    dumped = config.model_dump(mode="json", include=set(options))
    return {key: dumped[key] for key in options}


def check_secrets(kind: Kind, secrets: Mapping[str, str | None]) -> None:
    unknown = sorted(set(secrets) - set(kind.secrets))
    if unknown:
        raise InputError(
            f"unknown {kind.name} secret(s) {', '.join(unknown)}; known: "
            f"{', '.join(kind.secrets) or 'none'}",
            kind=kind.name,
        )

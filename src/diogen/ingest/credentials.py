"""Secrets of hosted sources, shared by `diogen sync ...` and the worker's scheduled syncs.

A sync stores its connector's configuration with secrets masked (`runner.CONFIG_CURSOR`), so
whoever runs it again takes the secrets from the command line, the settings or the
environment; these functions turn what they give into connector configuration, or one line
saying what is wrong.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, ValidationError

from diogen.connectors.github.app import load_private_key
from diogen.connectors.github.config import GitHubAppConfig
from diogen.errors import InputError, validation_problems

GITHUB_TOKEN_ENV = ("DIOGEN_GITHUB_TOKEN", "GITHUB_TOKEN")
GITHUB_KEY_ENV = "DIOGEN_GITHUB_APP_PRIVATE_KEY"


def split_tokens(given: list[str] | None) -> list[str]:
    """Tokens given as repeated values and/or separated by commas, blanks dropped."""
    return [t.strip() for value in given or [] for t in value.split(",") if t.strip()]


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def github_app(app_id: str, private_key: Path, installation_id: int | None) -> GitHubAppConfig:
    """The GitHub App with its key read from `private_key`; a bad file is one line naming it."""
    try:
        pem = private_key.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the GitHub App private key {private_key}: {exc}") from exc
    try:
        load_private_key(pem)
    except InputError as exc:
        raise InputError(f"{private_key}: {exc}") from exc
    try:
        return GitHubAppConfig(app_id=app_id, private_key=pem, installation_id=installation_id)
    except ValidationError as exc:
        raise InputError(f"invalid GitHub App options: {validation_problems(exc)}") from exc

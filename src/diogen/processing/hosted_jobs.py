"""Scheduled syncs of hosted sources (GitHub, Jira, Linear, Asana), rebuilt from the
configuration their last sync stored (`runner.CONFIG_CURSOR`) and the secrets of the settings.

The stored configuration has its secrets masked, so each kind takes its own from the settings
or the environment, as `diogen sync <kind>` does when no option gives them. A source whose
secret is missing (or whose stored configuration no longer validates) cannot be scheduled:
it gets a reason instead of a job, which `diogen status` and the sources API show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.config import Settings
from diogen.connectors.asana import AsanaConfig, AsanaConnector
from diogen.connectors.base import Connector
from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.connectors.jira import JiraConfig, JiraConnector
from diogen.connectors.linear import LinearConfig, LinearConnector
from diogen.errors import InputError, validation_problems
from diogen.ingest.credentials import github_app, secret, split_tokens
from diogen.ingest.models import SyncCursor
from diogen.ingest.runner import CONFIG_CURSOR
from diogen.processing.registry import kind_of

Build = Callable[[], Connector]
Rebuild = Callable[[str, dict[str, Any], Settings, Mapping[str, str]], Build]


class CannotSchedule(InputError):
    """Why the worker cannot rebuild a source's sync; the message is shown as it is."""


def stored_configs(session: Session) -> dict[str, dict[str, Any]]:
    """The configuration each hosted source's last sync stored, by source."""
    rows = session.execute(
        select(SyncCursor.source, SyncCursor.value)
        .where(SyncCursor.stream == CONFIG_CURSOR)
        .order_by(SyncCursor.source)
    )
    return {source: value for source, value in rows if kind_of(source) in REBUILDS}


def rebuild(
    source: str, stored: dict[str, Any], settings: Settings, environ: Mapping[str, str]
) -> Build:
    """What builds the source's connector again, or CannotSchedule saying why not."""
    try:
        return REBUILDS[kind_of(source)](source, stored, settings, environ)
    except CannotSchedule:
        raise
    except InputError as exc:  # e.g. an unreadable GitHub App key
        raise CannotSchedule(str(exc), source=source) from exc
    except ValidationError as exc:
        raise CannotSchedule(
            f"its stored configuration is not valid: {validation_problems(exc)}", source=source
        ) from exc


def _github(
    source: str, stored: dict[str, Any], settings: Settings, environ: Mapping[str, str]
) -> Build:
    options = {**stored, "tokens": [], "app": None}
    app = stored.get("app")
    if app:
        key = settings.github_app_private_key
        if key is None:
            raise CannotSchedule(
                "it was synced as a GitHub App and no private key is set: "
                "DIOGEN_GITHUB_APP_PRIVATE_KEY",
                source=source,
            )
        options["app"] = github_app(str(app.get("app_id") or ""), key, app.get("installation_id"))
    else:
        given = secret(settings.github_token) or environ.get("GITHUB_TOKEN")
        options["tokens"] = split_tokens([given] if given else [])
        if not options["tokens"]:
            raise CannotSchedule(
                "no GitHub token is set: DIOGEN_GITHUB_TOKEN or GITHUB_TOKEN", source=source
            )
    return partial(GitHubConnector, GitHubConfig.model_validate(options))


def _jira(
    source: str, stored: dict[str, Any], settings: Settings, environ: Mapping[str, str]
) -> Build:
    token = secret(settings.jira_token)
    if not token:
        raise CannotSchedule("no Jira token is set: DIOGEN_JIRA_TOKEN", source=source)
    return partial(JiraConnector, JiraConfig.model_validate({**stored, "token": token}))


def _linear(
    source: str, stored: dict[str, Any], settings: Settings, environ: Mapping[str, str]
) -> Build:
    key = secret(settings.linear_api_key)
    if not key:
        raise CannotSchedule("no Linear API key is set: DIOGEN_LINEAR_API_KEY", source=source)
    # The workspace is in the source's name: no need to ask the API again.
    organization = stored.get("organization") or source.split("@", 1)[1]
    config = LinearConfig.model_validate({**stored, "api_key": key, "organization": organization})
    return partial(LinearConnector, config)


def _asana(
    source: str, stored: dict[str, Any], settings: Settings, environ: Mapping[str, str]
) -> Build:
    token = secret(settings.asana_token)
    if not token:
        raise CannotSchedule("no Asana token is set: DIOGEN_ASANA_TOKEN", source=source)
    return partial(AsanaConnector, AsanaConfig.model_validate({**stored, "token": token}))


REBUILDS: dict[str, Rebuild] = {
    "github": _github,
    "jira": _jira,
    "linear": _linear,
    "asana": _asana,
}

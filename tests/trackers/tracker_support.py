"""Helpers for the tracker tests, imported by name (a `conftest` module is not importable by
name once several test folders have one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jira_cases import EMAIL, TOKEN

from diogen.connectors.jira import JiraConfig
from diogen.ingest.runner import SyncResult
from diogen.testing.fake_jira import FakeJira


@dataclass
class Sleeper:
    """The injected sleep: records what the client would have waited, waits nothing."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def jira_config(fake: FakeJira, **options: Any) -> JiraConfig:
    options.setdefault("projects", ["DIO"])
    options.setdefault("email", EMAIL)
    options.setdefault("token", TOKEN)
    return JiraConfig(url=fake.url, flavor=fake.flavor, **options)


Sync = Callable[..., SyncResult]

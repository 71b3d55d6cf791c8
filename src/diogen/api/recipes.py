"""Reports as functions of their cache key: a key names the report and holds every input, so
the request that asks for it and the warmer that computes it ahead (`api.warmer`) build the
same key with the same function here and compute the same document from it, byte for byte.

The keys' inputs are JSON: the scope as `Scope.to_json()`, the window as `Window.to_json()`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from diogen.api.routes.common import missing
from diogen.config import Settings
from diogen.metrics import Scope, Window, data_quality, dora_report, make_window
from diogen.metrics.flow import (
    flow_report,
    pr_flow,
    review_load,
    sprint_report,
    sprint_velocity,
)

Key = dict[str, Any]
MEMBERS_NOTE = (
    "issues and sprints carry no organisation: an organisation-wide count would include other "
    "organisations' issues, so members see them per team (ask with team=)"
)


def dora_key(
    settings: Settings,
    scope: Scope,
    window: Window,
    *,
    bucket: str | None = None,
    benchmarks: str | None = None,
    explain: bool = False,
    evidence: list[str] | None = None,
) -> Key:
    """The key of `/analytics/dora`; with `evidence`, of only those lists of its evidence."""
    key: Key = {
        "report": "dora",
        "scope": scope.to_json(),
        "window": window.to_json(),
        "bucket": bucket,
        "benchmarks": benchmarks or settings.benchmarks,
        "explain": explain or evidence is not None,
        "environment": settings.production_environment,
    }
    return key if evidence is None else {**key, "evidence": sorted(evidence)}


def quality_key(settings: Settings, scope: Scope) -> Key:
    pattern = settings.effective_release_pattern
    return {"report": "data_quality", "scope": scope.to_json(), "release_pattern": pattern}


def flow_key(
    settings: Settings,
    scope: Scope,
    window: Window,
    *,
    issues: bool,
    bucket: str | None = None,
    explain: bool = False,
) -> Key:
    """The key of `/analytics/flow`; `issues`: whether the issue figures stay inside what the
    asker may read."""
    return {
        "report": "flow",
        "scope": scope.to_json(),
        "window": window.to_json(),
        "bucket": bucket,
        "explain": explain,
        "issues": issues,
        "bots": settings.bot_pattern,
        "environment": settings.production_environment,
    }


def review_load_key(settings: Settings, scope: Scope, window: Window, *, explain: bool) -> Key:
    return {
        "report": "review_load",
        "scope": scope.to_json(),
        "window": window.to_json(),
        "explain": explain,
        "bots": settings.bot_pattern,
    }


def sprints_key(settings: Settings, scope: Scope | None, window: Window) -> Key:
    """The key of `/analytics/sprints`; no scope: every organisation's sprints."""
    return {
        "report": "sprints",
        "scope": scope.to_json() if scope else None,
        "window": window.to_json(),
        "bots": settings.bot_pattern,
    }


def sprint_key(settings: Settings, sprint: str, scope: Scope | None, *, explain: bool) -> Key:
    return {
        "report": "sprint",
        "sprint": sprint,
        "scope": scope.to_json() if scope else None,
        "explain": explain,
        "bots": settings.bot_pattern,
    }


def scope_of(key: Key) -> Scope | None:
    return None if key["scope"] is None else Scope(**key["scope"])


def _scope(key: Key) -> Scope:
    scope = scope_of(key)
    assert scope is not None, "only sprints may be asked for every organisation's issues"
    return scope


def window_of(key: Key) -> Window:
    return make_window(key["window"]["from"], key["window"]["to"])


def _dora(session: Session, key: Key, now: datetime) -> dict[str, Any]:
    return dora_report(
        session,
        _scope(key),
        window_of(key),
        bucket=key["bucket"],
        benchmarks=key["benchmarks"],
        production_environment=key["environment"],
        explain=key["explain"],
    )


def _flow(session: Session, key: Key, now: datetime) -> dict[str, Any]:
    scope, window = _scope(key), window_of(key)
    options: dict[str, Any] = {
        "bucket": key["bucket"],
        "explain": key["explain"],
        "bot_pattern": key["bots"],
        "now": now,
    }
    if scope.repo or scope.service or key["issues"]:
        environment = key["environment"]
        return flow_report(session, scope, window, production_environment=environment, **options)
    report = pr_flow(session, scope, window, **options)
    return {**report, "issues": None, "sprints": None, "notes": [MEMBERS_NOTE]}


def _team(session: Session, key: Key, now: datetime) -> dict[str, Any]:
    dora = _dora(session, {**key, "explain": False}, now)
    report = _flow(session, {**key, "explain": False, "issues": True}, now)
    return {"team_id": key["team_id"], "scope": key["scope"], "dora": dora, "flow": report}


def _pull_requests(session: Session, key: Key, now: datetime) -> dict[str, Any]:
    report = dora_report(
        session,
        _scope(key),
        window_of(key),
        production_environment=key["environment"],
        explain=True,
    )
    changes = report["evidence"]["changes"]
    items = [c for c in changes if c.get("kind") == "pull_request"]
    items.sort(key=lambda c: (-(c.get("lead_time_hours") or 0), str(c.get("pull_request"))))
    return {
        "scope": report["scope"],
        "window": report["window"],
        "stages": report["lead_time_for_changes"].get("stages"),
        "pull_requests": len(items),
        "items": items,
    }


def _sprints(session: Session, key: Key, now: datetime) -> dict[str, Any]:
    scope, window = scope_of(key), window_of(key)
    report = sprint_velocity(session, scope, window, bot_pattern=key["bots"], now=now)
    return {"scope": report["scope"], "window": report["window"], **report["sprints"]}


def _sprint(session: Session, key: Key, now: datetime) -> dict[str, Any]:
    scope = scope_of(key)
    report = sprint_report(
        session, key["sprint"], scope, explain=True, bot_pattern=key["bots"], now=now
    )
    evidence = report.pop("evidence")
    if scope is not None and not (evidence["issues"] or evidence["excluded"]):
        raise missing("sprint", key["sprint"])
    return {**report, "evidence": evidence} if key["explain"] else report


def _review_load(session: Session, key: Key, now: datetime) -> dict[str, Any]:
    return review_load(
        session, _scope(key), window_of(key), explain=key["explain"], bot_pattern=key["bots"]
    )


def _quality(session: Session, key: Key, now: datetime) -> dict[str, Any]:
    return data_quality(session, _scope(key), release_pattern=key["release_pattern"])


REPORTS: dict[str, Callable[[Session, Key, datetime], dict[str, Any]]] = {
    "dora": _dora,
    "flow": _flow,
    "team": _team,
    "pull_requests": _pull_requests,
    "sprints": _sprints,
    "sprint": _sprint,
    "review_load": _review_load,
    "data_quality": _quality,
}


def compute(session: Session, key: Key, now: datetime) -> dict[str, Any]:
    """The document of the report `key` names (without its `evidence` cut: see `reports`);
    `now` is the clock's, for the ages of open work in flow reports."""
    return REPORTS[key["report"]](session, key, now)

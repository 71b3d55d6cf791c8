"""Reports computed ahead (`warm_reports`, on under `diogen serve`): after start-up and after
every change of the data version, the reports asked for before (`api.demand`) and the
dashboard's first views (`defaults`) are computed in the background, one at a time in a
thread of lowered priority, so that the pages people open find them cached.

Entries are computed, never served stale: the warmer stores the answer for the new data
version, exactly what a request for that key would compute (`api.reports.entry`). An entry
also expires after `analytics_cache_seconds` (for changes the data version does not see); the
warmer renews those asked within the last `RENEW_ASKED_WITHIN` before they expire.

With Redis, workers share the cache: each key is warmed by one of them, the first to take its
lock. Without it every process has a cache of its own, which its own warmer fills.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timedelta

from prometheus_client import Counter, Gauge
from redis import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.api.recipes import (
    Key,
    dora_key,
    flow_key,
    quality_key,
    review_load_key,
    sprints_key,
)
from diogen.api.reports import data_version, digest_of, entry, remaining, whole
from diogen.api.state import ApiState
from diogen.config import Settings
from diogen.metrics import Scope
from diogen.metrics.window import Window, default_window
from diogen.silver import Organization, Team
from diogen.silver.base import table_of

log = logging.getLogger("diogen.api.warmer")
POLL_SECONDS = 2.0
# Entries with less than this part of their lifetime left are renewed.
RENEW_FRACTION = 0.4
RENEW_ASKED_WITHIN = timedelta(hours=1)
NICENESS = 10
# The evidence the deployments, incidents and pull requests pages show.
EVIDENCE_PAGES = ("deployments", "incidents", "pull_requests")
_ORGANIZATIONS, _TEAMS = table_of(Organization), table_of(Team)


class Warmer:
    def __init__(self, state: ApiState) -> None:
        self.state = state
        self.stopping = threading.Event()
        self.version: str | None = None
        self.renewed = 0.0
        self.thread = threading.Thread(target=self._run, name="report-warmer", daemon=True)
        registry = state.registry
        self.warmed = Counter("diogen_reports_warmed", "Reports computed ahead.", registry=registry)
        self.passes = Counter(
            "diogen_report_warm_passes", "Passes of the report warmer finished.", registry=registry
        )
        self.last = Gauge(
            "diogen_report_warm_last_seconds",
            "When the report warmer last finished a pass (Unix time).",
            registry=registry,
            multiprocess_mode="max",
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Ends after the report being computed; what was asked is saved for the next start."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=30)
        self._keys()

    def _run(self) -> None:
        _lower_priority()
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception:  # the warmer must outlive a database that is away for a while
                log.exception("report warming failed; trying again")
            self.stopping.wait(POLL_SECONDS)

    def step(self) -> int:
        """A pass when the data version changed (or at start) or entries near their expiry;
        how many reports it computed."""
        with Session(self.state.engine) as session:
            version = data_version(session)
        renew = time.monotonic() - self.renewed >= self._ttl() * RENEW_FRACTION / 2
        if version == self.version and not renew:
            return 0
        keys = self._keys(None if version != self.version else RENEW_ASKED_WITHIN)
        claimed: dict[str, bool] = {}
        computed = 0
        for key in _grouped(keys):
            if self.stopping.is_set():
                break
            computed += self._warm(key, version, claimed)
        self.version, self.renewed = version, time.monotonic()
        self.passes.inc()
        self.last.set(time.time())
        return computed

    def _ttl(self) -> int:
        return self.state.settings.analytics_cache_seconds

    def _keys(self, asked_within: timedelta | None = None) -> list[Key]:
        """What was asked (all of it, or within `asked_within`), then the default views."""
        demand = self.state.demand
        assert demand is not None
        with Session(self.state.engine) as session:
            asked = demand.merge(session, asked_within)
            session.commit()
            if asked_within is not None:
                return asked
            return _unique(asked + defaults(session, self.state, demand.clock()))[: demand.limit]

    def _warm(self, key: Key, version: str, claimed: dict[str, bool]) -> bool:
        left = remaining(self.state, key, version)
        if left is not None and left > self._ttl() * RENEW_FRACTION:
            return False
        # Parts of a report's evidence are cut from its whole entry: whoever computes the
        # whole also cuts the parts, so that no other worker computes the whole for them.
        group = digest_of(whole(key), version)
        if group not in claimed:
            claimed[group] = self._claim(group)
        if not claimed[group]:
            return False
        try:
            with Session(self.state.engine) as session:
                entry(self.state, session, key, version, fresh=True)
        except Exception as exc:  # a key that no longer computes (a team deleted) is skipped
            log.info("report not warmed: %s: %s", type(exc).__name__, exc)
            return False
        self.warmed.inc()
        return True

    def _claim(self, group: str) -> bool:
        """Whether this process warms a report: with Redis, only the first worker to ask."""
        client = self.state.redis
        if client is None:
            return True
        lock = f"diogen:warming:{group}"
        try:
            return bool(client.set(lock, os.getpid(), nx=True, ex=max(self._ttl() // 2, 1)))
        except RedisError as exc:
            log.warning("warming without a lock: Redis failed: %s", exc)
            return True


def defaults(session: Session, state: ApiState, now: datetime) -> list[Key]:
    """The reports of the dashboard's pages over their default window, per organisation, in
    the order people reach them: the overview (the DORA report with its trend and previous
    period, each team's report for the ranking) and the data quality; the deployments,
    incidents and pull requests pages (parts of one explained report); then each team's page.
    A sprint's burndown depends on which sprints the window holds: it is learnt when asked."""
    window = default_window(now)
    previous = Window(window.start - (window.end - window.start), window.start)
    settings = state.settings
    teams = session.execute(select(_TEAMS.c.organization_id, _TEAMS.c.name)).all()
    first: list[Key] = []
    pages: list[Key] = []
    for org_id, org in session.execute(select(_ORGANIZATIONS.c.id, _ORGANIZATIONS.c.name)):
        scope = Scope(org=org)
        names = [name for team_org, name in teams if team_org == org_id]
        first += [
            dora_key(settings, scope, window, bucket="week"),
            dora_key(settings, scope, previous),
            *(dora_key(settings, Scope(org=org, team=name), window) for name in names),
            quality_key(settings, scope),
        ]
        pages += [dora_key(settings, scope, window, evidence=[part]) for part in EVIDENCE_PAGES]
        for name in names:
            pages += _team_page(settings, Scope(org=org, team=name), window, previous)
    return first + pages


def _team_page(settings: Settings, team: Scope, window: Window, previous: Window) -> list[Key]:
    return [
        dora_key(settings, team, window, bucket="week"),
        dora_key(settings, team, previous),
        flow_key(settings, team, window, issues=True, bucket="week"),
        review_load_key(settings, team, window, explain=False),
        sprints_key(settings, team, window),
    ]


def _grouped(keys: list[Key]) -> list[Key]:
    """The keys in their order, each report's parts right after the first of its group, the
    whole report first."""
    groups: dict[str, list[Key]] = {}
    for key in keys:
        groups.setdefault(digest_of(whole(key), ""), []).append(key)
    return [
        key for group in groups.values() for key in sorted(group, key=lambda k: "evidence" in k)
    ]


def _unique(keys: list[Key]) -> list[Key]:
    seen: dict[str, Key] = {}
    for key in keys:
        seen.setdefault(digest_of(key, ""), key)
    return list(seen.values())


def _lower_priority() -> None:
    """This thread only (Linux's nice is per thread): requests' threads keep the cores."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError) as exc:
        log.info("report warmer at normal priority: %s", exc)

"""Reports computed ahead (`warm_reports`, on under `diogen serve`): after start-up and after
every change of the data version, the reports asked for before (`api.demand`) and the
dashboard pages' default views (`defaults`) are computed in the background, one at a time,
so that the pages people open find them cached. A thread of the server decides what to
compute; under `diogen serve` a child process of lowered priority computes (`warm_process`).

Entries are computed, never served stale: the warmer stores the answer for the new data
version, exactly what a request for that key would compute (`api.reports.entry`). An entry
also expires after `analytics_cache_seconds` (for changes the data version does not see); the
warmer renews those asked within the last `RENEW_ASKED_WITHIN`, and the default views, before
they expire.

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
from diogen.api.reports import data_version, digest_of, lookup, remaining, store, whole
from diogen.api.state import ApiState
from diogen.api.warm_process import NICENESS, Computer, InProcessComputer
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
# The evidence the deployments, incidents and pull requests pages show.
EVIDENCE_PAGES = ("deployments", "incidents", "pull_requests")
_ORGANIZATIONS, _TEAMS = table_of(Organization), table_of(Team)


class Warmer:
    def __init__(self, state: ApiState, computer: Computer | None = None) -> None:
        self.state = state
        self.computer = computer or InProcessComputer(state.engine)
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
        self.computer.close()
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
        computed = 0
        for group in _grouped(keys):
            if self.stopping.is_set():
                break
            computed += self._warm(group, version)
        self.version, self.renewed = version, time.monotonic()
        self.passes.inc()
        self.last.set(time.time())
        return computed

    def _ttl(self) -> int:
        return self.state.settings.analytics_cache_seconds

    def _keys(self, asked_within: timedelta | None = None) -> list[Key]:
        """What was asked (all of it, or within `asked_within`), then the default views: those
        are renewed too, or the first visitor after a quiet spell would find them expired."""
        demand = self.state.demand
        assert demand is not None
        with Session(self.state.engine) as session:
            asked = demand.merge(session, asked_within)
            session.commit()
            return _unique(asked + defaults(session, self.state, demand.clock()))[: demand.limit]

    def _warm(self, group: list[Key], version: str) -> int:
        """The keys of one report (itself, parts of its evidence) that are missing or near
        their expiry, computed at once (the whole report once) by one worker; how many."""
        threshold = self._ttl() * RENEW_FRACTION
        due = [k for k in group if (remaining(self.state, k, version) or 0) <= threshold]
        digest = digest_of(whole(group[0]), version)
        if not due or not self._claim(digest):
            return 0
        state = self.state
        try:
            state.flights.run(
                digest,
                lambda: self._compute(due, version),
                lambda: lookup(state, digest),
                lambda: None,
            )
        except Exception as exc:  # a key that no longer computes (a team deleted) is skipped
            log.info("report not warmed: %s: %s", type(exc).__name__, exc)
            return 0
        self.warmed.inc(len(due))
        return len(due)

    def _compute(self, keys: list[Key], version: str) -> bytes:
        computed = self.computer(keys, self.state.clock())
        for key, entry in computed:
            store(self.state, digest_of(key, version), entry)
        return computed[0][1]

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
    """The reports of the dashboard's pages over their default window, per organisation and
    for every organisation (what an instance administrator who names none sees), in the order
    people reach them: the overview (the DORA report with its trend and previous period, each
    team's report for the ranking) and the data quality; the deployments, incidents and pull
    requests pages (parts of one explained report); then each team's page. A sprint's
    burndown depends on which sprints the window holds: it is learnt when asked."""
    window = default_window(now)
    previous = Window(window.start - (window.end - window.start), window.start)
    settings = state.settings
    teams = session.execute(select(_TEAMS.c.organization_id, _TEAMS.c.name)).all()
    organizations = session.execute(select(_ORGANIZATIONS.c.id, _ORGANIZATIONS.c.name)).all()
    scopes = [
        (Scope(org=org), [name for team_org, name in teams if team_org == org_id])
        for org_id, org in organizations
    ]
    first: list[Key] = []
    pages: list[Key] = []
    for scope, names in [*scopes, (Scope(), [])]:
        first += [
            dora_key(settings, scope, window, bucket="week"),
            dora_key(settings, scope, previous),
            *(dora_key(settings, Scope(org=scope.org, team=name), window) for name in names),
            quality_key(settings, scope),
        ]
        pages += [dora_key(settings, scope, window, evidence=[part]) for part in EVIDENCE_PAGES]
        for name in names:
            pages += _team_page(settings, Scope(org=scope.org, team=name), window, previous)
    return first + pages


def _team_page(settings: Settings, team: Scope, window: Window, previous: Window) -> list[Key]:
    return [
        dora_key(settings, team, window, bucket="week"),
        dora_key(settings, team, previous),
        flow_key(settings, team, window, issues=True, bucket="week"),
        review_load_key(settings, team, window, explain=False),
        sprints_key(settings, team, window),
    ]


def _grouped(keys: list[Key]) -> list[list[Key]]:
    """The keys by report, in the order each report first appears."""
    groups: dict[str, list[Key]] = {}
    for key in keys:
        groups.setdefault(digest_of(whole(key), ""), []).append(key)
    return list(groups.values())


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

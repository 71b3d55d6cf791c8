"""Report answers as cached: the JSON of a report, computed once per data version, and parts
of a report's evidence, cut from the whole report's entry.

The cache key holds every parameter, the resolved scope and the data version (API writes,
webhooks, the pipeline's batches) with the count and latest end of sync runs (syncs), so any
change is seen at once; entries also expire after `analytics_cache_seconds` for changes made
some other way. A key names its report and all its inputs (`api.recipes`), so that the report
warmer (`api.warmer`) stores, ahead of the request, exactly the entry the request would have.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from diogen.accounts.audit import DATA_VERSION
from diogen.accounts.models import AppState
from diogen.api.middleware import etag_of
from diogen.api.recipes import Key, compute
from diogen.api.state import ApiState
from diogen.ingest.models import SyncRun
from diogen.silver.base import table_of

# Cache entries are "<ETag>\n<JSON>"; the format is part of the key, so that entries of
# another format (another version of Diogen sharing the Redis) are never read as this one.
ENTRY_FORMAT = "etag+json"
# The lists of a report's evidence one may ask for alone; `pull_requests` is `changes` of
# pull requests only (a dashboard page of them needs no direct commits: half the document).
EVIDENCE_PARTS = ("deployments", "changes", "pull_requests", "incidents", "excluded")

# Built once: every analytics request reads it. Of the tables' columns, not the ORM classes':
# a statement naming mapped attributes goes through the ORM's compile and execute path,
# 0.1 ms of CPU per request more.
_STATE, _RUNS = table_of(AppState).c, table_of(SyncRun).c
_VERSIONS = select(
    select(_STATE.int_value).where(_STATE.name == DATA_VERSION).scalar_subquery(),
    select(func.count(_RUNS.id)).scalar_subquery(),
    select(func.max(_RUNS.finished_at)).scalar_subquery(),
)


def data_version(session: Session) -> str:
    """The data version and the count and latest end of sync runs, in one round trip."""
    version, runs, finished = session.execute(_VERSIONS).one()
    return f"{version or 0}:{runs}:{finished}"


def digest_of(key: Key, version: str) -> str:
    versioned = {**key, "version": version, "format": ENTRY_FORMAT}
    return hashlib.sha256(json.dumps(versioned, sort_keys=True, default=str).encode()).hexdigest()


def _entry_of(document: dict[str, Any]) -> bytes:
    body = json.dumps(document).encode()
    return etag_of(body).encode() + b"\n" + body


def store(state: ApiState, digest: str, entry: bytes) -> bytes:
    if state.settings.analytics_cache_seconds:
        state.cache.set(digest, entry, state.settings.analytics_cache_seconds)
    return entry


def _store(state: ApiState, digest: str, document: dict[str, Any]) -> bytes:
    return store(state, digest, _entry_of(document))


def entries(session: Session, keys: list[Key], now: datetime) -> list[tuple[Key, bytes]]:
    """The entries of `keys`, one report and parts of its evidence, as the report warmer
    stores them: the whole report's first (even when only parts are asked: the page asking
    for the whole next finds it), computed once."""
    whole_key = whole(keys[0])
    document = compute(session, whole_key, now)
    cut = [(key, only(document, key["evidence"])) for key in keys if "evidence" in key]
    return [(key, _entry_of(part)) for key, part in [(whole_key, document), *cut]]


def remaining(state: ApiState, key: Key, version: str) -> float | None:
    """Seconds the entry of `key` at `version` has left; None when there is none."""
    return state.cache.remaining(digest_of(key, version))


def lookup(state: ApiState, digest: str) -> bytes | None:
    return state.cache.get(digest) if state.settings.analytics_cache_seconds else None


def _document(state: ApiState, session: Session, key: Key, version: str) -> dict[str, Any]:
    """The document of `key`: computed, or, for only parts of a report's evidence, cut from
    the whole report's entry, which is computed and stored first when missing, so that the
    page asking for the whole next finds it."""
    parts = key.get("evidence")
    if parts is None:
        return compute(session, key, state.clock())
    whole_key = whole(key)
    digest = digest_of(whole_key, version)
    found = lookup(state, digest)
    if found is None:
        document = compute(session, whole_key, state.clock())
        _store(state, digest, document)
    else:
        document = json.loads(found.partition(b"\n")[2])
    return only(document, parts)


def entry(state: ApiState, session: Session, key: Key, version: str) -> bytes:
    """The cache entry of `key` at `version`: found, or computed once."""
    digest = digest_of(key, version)
    found = lookup(state, digest)
    if found is not None:
        return found
    # Computing takes seconds: the quick answers queued behind this one go first.
    state.lane.leave()
    # A waiting request has read nothing it needs again: its connection goes back to the
    # pool, so that waiters cannot exhaust it while reports are computed.
    return state.flights.run(
        digest,
        lambda: _store(state, digest, _document(state, session, key, version)),
        lambda: lookup(state, digest),
        session.rollback,
    )


def cached(state: ApiState, session: Session, key: Key) -> Response:
    """The answer for the report `key` (see `api.recipes`) at the current data version,
    computed once; the key is remembered for the warmer when it runs."""
    etag, _, body = entry(state, session, key, data_version(session)).partition(b"\n")
    if state.demand is not None:  # once it computed: a key that fails is not worth warming
        state.demand.note(key)
    return Response(body, media_type="application/json", headers={"ETag": etag.decode()})


def whole(key: Key) -> Key:
    """The key of the whole report that `key` is a part of (itself when it is whole)."""
    return {name: value for name, value in key.items() if name != "evidence"}


def only(document: dict[str, Any], parts: Collection[str]) -> dict[str, Any]:
    """`document` with the evidence lists named in `parts`, the others left out."""
    evidence = {
        name: rows
        for name, rows in document["evidence"].items()
        if name in parts or name not in EVIDENCE_PARTS
    }
    if "pull_requests" in parts and "changes" not in parts:
        changes = document["evidence"]["changes"]
        evidence["changes"] = [c for c in changes if c["kind"] == "pull_request"]
    return {**document, "evidence": evidence}

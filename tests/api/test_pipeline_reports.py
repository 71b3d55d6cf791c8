"""A report cached before the pipeline wrote silver is not served after it: the worker's and
replay's writes change the data version that cached reports are keyed on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api_support import NOW, World
from sqlalchemy.orm import Session

from diogen.bus import make_bus
from diogen.connectors.base import RawItem
from diogen.db import session_scope
from diogen.ingest import bronze, outbox
from diogen.ingest.replay import replay
from diogen.metrics import Scope, dora_report, make_window
from diogen.processing.locks import make_locks
from diogen.processing.worker import Worker

SOURCE = "git:shop"
SHAS = ("a" * 40, "b" * 40)
URL = "/api/v1/analytics/dora?repo=shop&from=2024-02-01&to=2024-03-02"
REPOSITORY = RawItem(
    "repository", "shop", {"name": "shop", "location": "/nowhere/shop", "default_branch": "main"}
)
# A lightweight release tag on the last commit, and the cursor of the sync that saw it.
RELEASE_TAG = RawItem(
    "refs",
    "tag:v1.0.0",
    {
        "kind": "tag",
        "name": "v1.0.0",
        "commit_sha": SHAS[1],
        "tag_sha": None,
        "tagger_name": None,
        "tagger_email": None,
        "tagger_date": None,
    },
)
SYNCED = {"refs": [f"tag:v1.0.0:{SHAS[1]}:"], "tips": [SHAS[1]], "release_pattern": r"^v\d"}


def commit_item(n: int) -> RawItem:
    """Commit `n` of a straight history, made 4 - n days before NOW."""
    person = {
        "name": "Ann",
        "email": "ann@example.com",
        "mailmap_name": "Ann",
        "mailmap_email": "ann@example.com",
        "time": int((NOW - timedelta(days=4 - n)).timestamp()),
        "offset": 0,
    }
    payload = {
        "sha": SHAS[n],
        "parents": list(SHAS[:n]),
        "author": person,
        "committer": person,
        "message": f"change {n}",
        "files": [["app.py", None, 1, 0]],
    }
    return RawItem("commits", SHAS[n], payload)


def store(world: World, *items: RawItem) -> None:
    """Into bronze and announced, as records enter the pipeline without being normalised."""
    with session_scope(world.engine) as session:
        outbox.store_raw(session, SOURCE, list(items), lambda: NOW)


def work(world: World) -> None:
    """A worker run until everything announced is in silver."""
    settings = world.state.settings
    locks = make_locks(settings, world.engine)
    bus = make_bus(settings, world.engine)
    try:
        Worker(world.engine, settings, bus, locks, schedule=False, poll_seconds=0.1).drain()
    finally:
        locks.close()


def deploy(world: World, sha: str) -> None:
    event: dict[str, Any] = {
        "type": "deployment",
        "id": "d1",
        "repository": "shop",
        "sha": sha,
        "finished_at": (NOW - timedelta(days=1)).isoformat(),
    }
    response = world.client.post(
        "/api/v1/ingest/ci", json={"events": [event]}, headers=world.headers("root")
    )
    assert response.json() == {"accepted": 1, "rejected": []}


def computed(world: World) -> dict[str, Any]:
    """The report as the metrics compute it from the database, past any cache."""
    with Session(world.engine) as session:
        return dora_report(session, Scope(repo="shop"), make_window("2024-02-01", "2024-03-02"))


def test_a_record_the_worker_normalises_changes_the_cached_report(world: World) -> None:
    store(world, REPOSITORY, commit_item(0))
    work(world)
    # Deployed before the worker has seen its commit: no lead time yet.
    deploy(world, SHAS[1])
    store(world, commit_item(1))
    before = world.get("root", URL).json()

    work(world)
    after = world.get("root", URL).json()

    assert before["deployment_frequency"]["deployments"] == 1
    assert before["lead_time_for_changes"]["median_hours"] is None
    # The deployment shipped both commits, of 4 and 3 days before it finished.
    assert after["lead_time_for_changes"]["median_hours"] == 60.0
    assert after == computed(world)


def test_the_release_replay_finds_at_its_checkpoint_changes_the_cached_report(
    world: World,
) -> None:
    with session_scope(world.engine) as session:
        items = (REPOSITORY, commit_item(0), commit_item(1), RELEASE_TAG)
        bronze.write_raw(session, [bronze.raw_row(SOURCE, item, NOW) for item in items])
        bronze.save_cursors(session, SOURCE, {"commits": SYNCED}, NOW)
    # Asked after the records' batch, before the checkpoint steps turn the tag into a release.
    during = []
    replayed = replay(
        world.engine,
        world.state.settings,
        clock=lambda: NOW,
        progress=lambda _: during.append(world.get("root", URL).json()),
    )
    after = world.get("root", URL).json()

    assert replayed.outcome.processed == 4
    assert [report["deployment_frequency"]["deployments"] for report in during] == [0]
    assert after["deployment_frequency"]["deployments"] == 1
    assert after == computed(world)

"""A merge of developers holds after later syncs: the merged-away developer does not come back
as an empty one, whether the sync normalises inline or the pipeline's worker does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from api_support import NOW, World
from sqlalchemy import select

from diogen.bus import make_bus
from diogen.connectors.base import RawItem
from diogen.connectors.git import GitConfig, GitConnector
from diogen.db import session_scope
from diogen.ingest import outbox
from diogen.ingest.runner import run_sync
from diogen.processing.locks import make_locks
from diogen.processing.worker import Worker
from diogen.silver import Identity, Person
from diogen.testing.gitrepo import GitRepo

V = "/api/v1"
ANN, ANNIE = ("Ann", "ann@example.com"), ("Annie", "annie@other.example")


def developers(world: World) -> dict[str, int]:
    """Display name → number of identities, as an instance administrator lists them."""
    items = world.get("root", f"{V}/developers?limit=200").json()["items"]
    return {d["display_name"]: len(d["identities"]) for d in items}


def merge_annie_into_ann(world: World) -> None:
    items = world.get("root", f"{V}/developers?limit=200").json()["items"]
    ids = {d["display_name"]: d["id"] for d in items}
    answer = world.client.post(
        f"{V}/developers/{ids['Ann']}/merge",
        json={"person_ids": [ids["Annie"]]},
        headers=world.headers("root"),
    )
    assert answer.status_code == 200, answer.text


def test_an_inline_sync_after_a_merge_keeps_it(world: World, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("a", NOW - timedelta(days=3), files={"a": "1"}, author=ANN)
    repo.commit("b", NOW - timedelta(days=2), files={"b": "1"}, author=ANNIE)
    config = GitConfig(location=str(repo.path), name="repo", cache_dir=tmp_path / "cache")
    run_sync(world.engine, GitConnector(config))
    assert developers(world) == {"Ann": 1, "Annie": 1}
    merge_annie_into_ann(world)

    repo.commit("c", NOW - timedelta(days=1), files={"c": "1"}, author=ANNIE)
    run_sync(world.engine, GitConnector(config))

    assert developers(world) == {"Ann": 2}
    with session_scope(world.engine) as session:
        persons = session.scalars(select(Person.display_name)).all()
        owners = {i.email: i.person_id for i in session.scalars(select(Identity))}
    assert persons == ["Ann"]
    assert owners["annie@other.example"] == owners["ann@example.com"]


def commit_item(n: int, author: tuple[str, str]) -> RawItem:
    name, email = author
    person = {
        "name": name,
        "email": email,
        "mailmap_name": name,
        "mailmap_email": email,
        "time": int((NOW - timedelta(days=4 - n)).timestamp()),
        "offset": 0,
    }
    sha = f"{n:040x}"
    payload = {
        "sha": sha,
        "parents": [f"{n - 1:040x}"] if n else [],
        "author": person,
        "committer": person,
        "message": f"change {n}",
        "files": [["app.py", None, 1, 0]],
    }
    return RawItem("commits", sha, payload)


def through_the_worker(world: World, *items: RawItem) -> None:
    with session_scope(world.engine) as session:
        outbox.store_raw(session, "git:shop", list(items), lambda: NOW)
    settings = world.state.settings
    locks, bus = make_locks(settings, world.engine), make_bus(settings, world.engine)
    try:
        Worker(world.engine, settings, bus, locks, schedule=False, poll_seconds=0.1).drain()
    finally:
        locks.close()
        bus.close()


def test_the_pipeline_after_a_merge_keeps_it(world: World) -> None:
    shop = RawItem(
        "repository",
        "shop",
        {"name": "shop", "location": "/nowhere/shop", "default_branch": "main"},
    )
    through_the_worker(world, shop, commit_item(0, ANN), commit_item(1, ANNIE))
    assert developers(world) == {"Ann": 1, "Annie": 1}
    merge_annie_into_ann(world)

    through_the_worker(world, commit_item(2, ANNIE))

    assert developers(world) == {"Ann": 2}

"""Resources: paging, filters, sorting, ETags, problem answers, merges and verdicts."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import World, seed
from sqlalchemy import event, select

from diogen.silver import Identity, Person, TeamMembership

V = "/api/v1"


def test_pages_cover_every_row_once_in_order(world: World) -> None:
    alpha = world.org_ids["alpha"]
    for name in ["e", "b", "d", "a", "c"]:
        made = world.client.post(
            f"{V}/teams",
            json={"organization_id": alpha, "name": name},
            headers=world.headers("alpha:maintainer"),
        )
        assert made.status_code == 201
    seen, cursor, pages = [], None, 0
    while True:
        query = f"{V}/teams?sort=-name&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = world.get("alpha:viewer", query).json()
        seen += [team["name"] for team in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == ["e", "d", "c", "b", "a"]
    assert pages == 3
    other_sort = world.get("alpha:viewer", f"{V}/teams?sort=name&limit=2&cursor={cursor or 'x'}")
    assert other_sort.status_code == 400
    assert other_sort.json()["type"] == "urn:diogen:problem:invalid-input"


def test_cursor_of_another_sort_and_unknown_sort_are_400_and_422(world: World) -> None:
    alpha = world.org_ids["alpha"]
    for name in "abc":
        world.client.post(
            f"{V}/teams",
            json={"organization_id": alpha, "name": name},
            headers=world.headers("alpha:maintainer"),
        )
    cursor = world.get("alpha:viewer", f"{V}/teams?limit=1").json()["next_cursor"]

    wrong = world.get("alpha:viewer", f"{V}/teams?sort=-name&cursor={cursor}")
    unknown = world.get("alpha:viewer", f"{V}/teams?sort=size")

    assert wrong.status_code == 400
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "sort"


def test_nullable_sort_field_pages_values_then_nulls(world: World) -> None:
    with world.session() as session:
        rows = [seed(session, world.org_ids["alpha"]) for _ in range(3)]
    mark = rows[1].deployment
    with world.session() as session:
        from diogen.silver import Deployment

        session.get(Deployment, mark).finished_at = None
    ids, cursor = [], None
    while True:
        url = f"{V}/deployments?sort=finished_at&limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = world.get("alpha:viewer", url).json()
        ids += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(ids) == 3 and len(set(ids)) == 3
    assert ids[-1] == mark


def test_etag_and_if_none_match(world: World) -> None:
    first = world.get("alpha:viewer", f"{V}/organizations/{world.org_ids['alpha']}")
    again = world.get(
        "alpha:viewer",
        f"{V}/organizations/{world.org_ids['alpha']}",
        headers={"If-None-Match": first.headers["etag"]},
    )
    world.client.patch(
        f"{V}/organizations/{world.org_ids['alpha']}",
        json={"url": "https://a"},
        headers=world.headers("alpha:admin"),
    )
    changed = world.get(
        "alpha:viewer",
        f"{V}/organizations/{world.org_ids['alpha']}",
        headers={"If-None-Match": first.headers["etag"]},
    )

    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert changed.status_code == 200 and changed.json()["url"] == "https://a"


def test_problem_answers(world: World) -> None:
    alpha = world.org_ids["alpha"]
    bad_body = world.client.post(
        f"{V}/teams",
        json={"organization_id": alpha, "name": ""},
        headers=world.headers("alpha:maintainer"),
    )
    not_json = world.client.post(
        f"{V}/teams",
        content=b"{oops",
        headers={**world.headers("alpha:maintainer"), "Content-Type": "application/json"},
    )
    unknown = world.get("alpha:viewer", f"{V}/nothing-here")
    method = world.client.put(f"{V}/teams", headers=world.headers("alpha:viewer"))
    duplicate = [
        world.client.post(
            f"{V}/teams",
            json={"organization_id": alpha, "name": "same"},
            headers=world.headers("alpha:maintainer"),
        ).status_code
        for _ in range(2)
    ]
    naive = world.get("alpha:viewer", f"{V}/deployments?finished_from=2024-01-01T00:00:00")

    for response, status in (
        (bad_body, 422),
        (not_json, 422),
        (unknown, 404),
        (method, 405),
        (naive, 400),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert set(response.json()) >= {"type", "title", "status", "detail"}
    assert bad_body.json()["errors"][0]["field"] == "name"
    assert duplicate == [201, 409]


def test_team_nesting_refuses_cycles_and_other_organisations(world: World) -> None:
    alpha, beta = world.org_ids["alpha"], world.org_ids["beta"]
    post = lambda body, who="alpha:maintainer": world.client.post(  # noqa: E731
        f"{V}/teams", json=body, headers=world.headers(who)
    )
    top = post({"organization_id": alpha, "name": "top"}).json()
    child = post({"organization_id": alpha, "name": "child", "parent_id": top["id"]}).json()
    foreign = post({"organization_id": beta, "name": "foreign"}, "root").json()

    cycle = world.client.patch(
        f"{V}/teams/{top['id']}",
        json={"parent_id": child["id"]},
        headers=world.headers("alpha:maintainer"),
    )
    across = world.client.patch(
        f"{V}/teams/{child['id']}",
        json={"parent_id": foreign["id"]},
        headers=world.headers("alpha:maintainer"),
    )
    nested = world.get("alpha:viewer", f"{V}/teams?parent_id={top['id']}").json()["items"]

    assert cycle.status_code == 400
    assert across.status_code == 404
    assert [t["name"] for t in nested] == ["child"]


def test_membership_validity_and_filter_by_time(world: World) -> None:
    with world.session() as session:
        rows = seed(session, world.org_ids["alpha"])
    url = f"{V}/teams/{rows.team}/members"
    backwards = world.client.post(
        url,
        json={
            "person_id": rows.other_person,
            "valid_from": "2024-02-01T00:00:00Z",
            "valid_to": "2024-01-01T00:00:00Z",
        },
        headers=world.headers("alpha:maintainer"),
    )
    made = world.client.post(
        url,
        json={
            "person_id": rows.other_person,
            "valid_from": "2023-01-01T00:00:00Z",
            "valid_to": "2023-06-01T00:00:00Z",
        },
        headers=world.headers("alpha:maintainer"),
    )
    in_2023 = world.get("alpha:viewer", f"{url}?at=2023-03-01T00:00:00Z").json()["items"]

    assert backwards.status_code == 400
    assert made.status_code == 201
    assert made.json()["display_name"] == in_2023[0]["display_name"]
    # The person's name comes with each membership: a member list needs no request per member.
    with world.session() as session:
        person = session.get(Person, rows.other_person)
        assert person is not None
        expected = person.display_name
    assert [(m["person_id"], m["display_name"]) for m in in_2023] == [(rows.other_person, expected)]


def test_merge_and_unmerge_lock_identities(world: World) -> None:
    with world.session() as session:
        rows = seed(session, world.org_ids["alpha"])
    merged = world.client.post(
        f"{V}/developers/{rows.person}/merge",
        json={"person_ids": [rows.other_person]},
        headers=world.headers("alpha:maintainer"),
    )
    assert merged.status_code == 200
    identities = merged.json()["identities"]
    assert len(identities) == 2 and all(i["person_locked"] for i in identities)
    assert world.get("alpha:viewer", f"{V}/developers/{rows.other_person}").status_code == 404

    split = world.client.post(
        f"{V}/developers/{rows.person}/unmerge",
        json={"identity_ids": [rows.identity]},
        headers=world.headers("alpha:maintainer"),
    )
    assert split.status_code == 200
    source, new = split.json()
    assert [i["id"] for i in new["identities"]] == [rows.identity]
    assert rows.identity not in [i["id"] for i in source["identities"]]
    with world.session() as session:
        identity = session.get(Identity, rows.identity)
        assert identity.person_locked and identity.person_id == new["id"]
        assert session.get(Person, rows.other_person) is None
        # The membership stayed with the person it belonged to.
        members = session.scalars(select(TeamMembership.person_id)).all()
        assert members == [rows.person]
    itself = world.client.post(
        f"{V}/developers/{rows.person}/merge",
        json={"person_ids": [rows.person]},
        headers=world.headers("alpha:maintainer"),
    )
    assert itself.status_code == 400


def test_mark_failed_and_link_incident(world: World) -> None:
    with world.session() as session:
        rows = seed(session, world.org_ids["alpha"])
        foreign = seed(session, world.org_ids["beta"])
    marked = world.client.patch(
        f"{V}/deployments/{rows.deployment}",
        json={"marked_failed": True},
        headers=world.headers("alpha:maintainer"),
    )
    linked = world.client.patch(
        f"{V}/incidents/{rows.incident}",
        json={"deployment_id": rows.deployment},
        headers=world.headers("alpha:maintainer"),
    )
    across = world.client.patch(
        f"{V}/incidents/{rows.incident}",
        json={"deployment_id": foreign.deployment},
        headers=world.headers("alpha:maintainer"),
    )
    failed = world.get("alpha:viewer", f"{V}/deployments?marked_failed=true").json()["items"]
    unlinked = world.get("alpha:viewer", f"{V}/incidents?linked=false").json()["items"]

    assert marked.json()["marked_failed"] is True
    assert linked.json()["deployment_id"] == rows.deployment
    assert linked.json()["evidence"]["manual_link"]["by"] == world.user_ids["alpha:maintainer"]
    assert across.status_code == 404
    assert [d["id"] for d in failed] == [rows.deployment]
    assert unlinked == []


def test_repository_moves_between_organisations_only_for_maintainers_of_both(
    world: World,
) -> None:
    with world.session() as session:
        rows = seed(session, world.org_ids["alpha"])
    beta = world.org_ids["beta"]
    refused = world.client.patch(
        f"{V}/repositories/{rows.repo}",
        json={"organization_id": beta},
        headers=world.headers("alpha:admin"),
    )
    moved = world.client.patch(
        f"{V}/repositories/{rows.repo}",
        json={"organization_id": beta},
        headers=world.headers("root"),
    )

    assert refused.status_code == 404
    assert moved.status_code == 200 and moved.json()["owning_team_id"] is None
    assert world.get("alpha:viewer", f"{V}/repositories/{rows.repo}").status_code == 404


def test_values_the_database_cannot_hold_are_400(world: World) -> None:
    # PostgreSQL text cannot hold NUL; found by schemathesis. SQLite takes it and finds nothing.
    query = world.get("alpha:viewer", f"{V}/incidents?severity=%00")
    body = world.client.post(
        f"{V}/teams",
        json={"organization_id": world.org_ids["alpha"], "name": "a\u0000b"},
        headers=world.headers("alpha:maintainer"),
    )

    assert query.status_code in (200, 400) and body.status_code in (201, 400)
    if world.engine.dialect.name == "postgresql":
        assert query.status_code == body.status_code == 400
        assert query.json()["type"] == "urn:diogen:problem:invalid-input"


def _plan(world: World, statement: str, parameters: Any) -> str:
    """The plan of a captured statement; PostgreSQL told to avoid sorting if it can at all,
    so that a tiny table's plan shows whether an index gives the order."""
    with world.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(row[-1]) for row in rows)
        connection.exec_driver_sql("SET enable_sort = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize("who", ["alpha:viewer", "root"])
def test_newest_deployments_are_read_in_index_order_not_sorted(world: World, who: str) -> None:
    with world.session() as session:
        for _ in range(3):
            seed(session, world.org_ids["alpha"])
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM deployment" in statement:
            captured.append((statement, parameters))

    event.listen(world.state.reader, "before_cursor_execute", capture)
    try:
        answer = world.get(who, f"{V}/deployments?limit=2&finished_from=2020-01-01T00:00:00Z")
    finally:
        event.remove(world.state.reader, "before_cursor_execute", capture)
    assert answer.status_code == 200 and len(answer.json()["items"]) == 2
    (statement, parameters), *_ = captured
    plan = _plan(world, statement, parameters)
    assert "ix_deployment_newest" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan

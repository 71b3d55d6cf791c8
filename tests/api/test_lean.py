"""The lean path of the hottest reads (`diogen.api.lean`) answers exactly as FastAPI would."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from api_support import NOW, World, make_world, seed, settings_for
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from diogen.api import app as app_module
from diogen.api.app import API_ROUTERS, create_app
from diogen.api.lean import LeanRoute, lean_routes

V = "/api/v1"
HOT = {
    f"{V}/analytics/dora",
    f"{V}/analytics/dora/{{team_id}}",
    f"{V}/analytics/team/{{team_id}}",
    f"{V}/analytics/flow",
    f"{V}/deployments",
    f"{V}/deployments/{{deployment_id}}",
    f"{V}/repositories",
    f"{V}/repositories/{{repo_id}}",
    f"{V}/teams",
    f"{V}/teams/{{team_id}}",
}


def _api_routes() -> list[APIRoute]:
    return [r for router in API_ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def _lean() -> list[LeanRoute]:
    return lean_routes(_api_routes())


def test_the_dashboards_reads_take_the_lean_path_and_nothing_else_does() -> None:
    paths = {lean.route.path for lean in _lean()}

    assert paths >= HOT
    # A model to validate (/me), a body, or a write: FastAPI's.
    assert f"{V}/me" not in paths
    assert all("GET" in lean.route.methods for lean in _lean())


def test_no_lean_route_takes_a_path_another_route_answers() -> None:
    """FastAPI answers a path with the first route matching it: the lean path, which tries
    only its own, must never take a path a route it does not know would answer."""
    lean = _lean()
    for route in _api_routes():
        if "GET" not in (route.methods or ()):
            continue
        path = re.sub(r"\{[^}]+\}", "some-id", route.path)
        taken = [found.route for found in lean if found.match(path) is not None]
        assert taken in ([], [route]), (route.path, [r.path for r in taken])


@pytest.fixture
def full(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The same app on the same database with no lean route: every request through FastAPI."""
    monkeypatch.setattr(app_module, "lean_routes", lambda _routes: [])
    url = str(world.engine.url.render_as_string(hide_password=False))
    with TestClient(create_app(settings_for(url), clock=lambda: NOW)) as client:
        yield client


def test_lean_answers_are_fastapis(world: World, full: TestClient) -> None:
    with world.session() as session:
        rows = seed(session, world.org_ids["alpha"])
    beta = world.org_ids["beta"]
    urls = [
        f"{V}/repositories?limit=2",
        f"{V}/repositories/{rows.repo}",
        f"{V}/teams",
        f"{V}/teams/{rows.team}",
        f"{V}/deployments?limit=5&sort=-finished_at",
        f"{V}/deployments/{rows.deployment}",
        f"{V}/analytics/dora?from=2024-01-01&to=2024-04-01",
        f"{V}/analytics/dora/{rows.team}?bucket=week&from=2024-01-01&to=2024-04-01",
        f"{V}/analytics/team/{rows.team}?from=2024-01-01&to=2024-04-01",
        f"{V}/analytics/flow?from=2024-01-01&to=2024-04-01",
        f"{V}/organizations/{beta}",  # another organisation's: 404
        f"{V}/repositories?limit=0",  # invalid: 422, answered by FastAPI
        f"{V}/analytics/dora?bucket=year",
        f"{V}/analytics/dora?org=nobody",
    ]
    # Twice each: the second time, the lean path's query parameters are those it kept.
    for who in ("alpha:viewer", "beta:admin", "root", "alpha:viewer"):
        for url in urls:
            lean = world.get(who, url)
            through_fastapi = full.get(url, headers=world.headers(who))
            assert lean.status_code == through_fastapi.status_code, (who, url)
            assert lean.content == through_fastapi.content, (who, url)
            for header in ("content-type", "etag", "www-authenticate"):
                assert lean.headers.get(header) == through_fastapi.headers.get(header)


def test_credentials_are_checked_on_every_lean_read(world: World) -> None:
    url = f"{V}/repositories"
    missing = world.client.get(url)
    wrong = world.client.get(url, headers={"Authorization": "Bearer dgn_nope_nope"})
    user_id = world.user_ids["alpha:viewer"]
    before = world.get("alpha:viewer", url)
    world.client.patch(
        f"{V}/users/{user_id}", json={"is_active": False}, headers=world.headers("root")
    )
    after = world.get("alpha:viewer", url)

    assert [missing.status_code, wrong.status_code, before.status_code] == [401, 401, 200]
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.headers["content-type"] == "application/problem+json"
    assert after.status_code == 401


def test_a_lean_read_is_counted_once_even_when_its_parameters_fail(sqlite_url: str) -> None:
    strict = make_world(sqlite_url, rate_limit_per_minute=3)
    try:
        statuses = [
            strict.get("alpha:viewer", f"{V}/repositories{query}").status_code
            for query in ("", "?limit=0", "", "")
        ]
        limited = strict.get("alpha:admin", f"{V}/repositories")
    finally:
        strict.close()

    assert statuses == [200, 422, 200, 429]
    assert limited.status_code == 200  # another user's key: its own count


def test_an_unexpected_error_in_a_lean_read_is_a_500_problem(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: object) -> None:
        raise RuntimeError("a bug")

    (route,) = [
        r
        for r in _api_routes()
        if r.path == f"{V}/repositories/{{repo_id}}" and "GET" in (r.methods or ())
    ]
    monkeypatch.setattr(route, "endpoint", broken)
    client = TestClient(world.client.app, raise_server_exceptions=False)

    answer = client.get(f"{V}/repositories/x", headers=world.headers("alpha:viewer"))

    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:diogen:problem:internal"

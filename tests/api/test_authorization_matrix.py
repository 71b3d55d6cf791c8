"""Every route, by role (admin, maintainer, viewer of organisation alpha) and by target
organisation (own: alpha, other: beta), on SQLite and PostgreSQL.

Rows of another organisation answer 404, exactly like rows that do not exist; a weak role in
one's own organisation answers 403; lists never show another organisation's rows. Each case
acts on rows made fresh for it, so writes and deletes cannot disturb other cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api_support import NOW, Rows, World, new_organization, seed
from flow_api_support import seed_flow

from diogen.accounts.roles import ROLES, at_least
from diogen.accounts.users import grant_role
from diogen.ids import stable_id
from diogen.silver import ServiceRepository

V = "/api/v1"
Request = tuple[str, str, dict[str, Any] | None]
OK = {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 204, "PUT": 200}


@dataclass(frozen=True)
class Route:
    name: str
    request: Callable[[World, Rows], Request]
    minimum: str  # a role, or "superuser"
    ok: int | None = None  # success status, when not the method's usual one
    listed: Callable[[Rows], str] | None = None  # a list route: the id it must (not) show
    instance: bool = False  # names no organisation: the same answer for own and other


def _grant_bystander(world: World, rows: Rows) -> None:
    with world.session() as session:
        grant_role(session, world.user_ids["bystander"], rows.org_id, "viewer", now=NOW)


def _member_delete(world: World, rows: Rows) -> Request:
    _grant_bystander(world, rows)
    return "DELETE", f"{V}/organizations/{rows.org_id}/members/{world.user_ids['bystander']}", None


_sprints: dict[str, str] = {}


def _sprint(world: World, rows: Rows) -> str:
    """A sprint holding issues of the rows' team (made once per rows)."""
    if rows.repo not in _sprints:
        with world.session() as session:
            _sprints[rows.repo] = seed_flow(session, rows)
    return _sprints[rows.repo]


def _unlink(world: World, rows: Rows) -> Request:
    link_id = stable_id("api", "service_repository", rows.service, rows.repo, "")
    with world.session() as session:
        if session.get(ServiceRepository, link_id) is None:  # the request is built twice
            session.add(
                ServiceRepository(
                    id=link_id, service_id=rows.service, repository_id=rows.repo, path_prefix=""
                )
            )
    return "DELETE", f"{V}/services/{rows.service}/repositories/{link_id}", None


ROUTES = [
    Route(
        "list organizations",
        lambda w, r: ("GET", f"{V}/organizations", None),
        "viewer",
        listed=lambda r: r.org_id,
    ),
    Route(
        "create organization",
        lambda w, r: ("POST", f"{V}/organizations", {"name": f"new-{r.team}"}),
        "superuser",
        instance=True,
    ),
    Route(
        "get organization", lambda w, r: ("GET", f"{V}/organizations/{r.org_id}", None), "viewer"
    ),
    Route(
        "update organization",
        lambda w, r: ("PATCH", f"{V}/organizations/{r.org_id}", {"url": "https://example.com"}),
        "admin",
    ),
    Route(
        "delete organization",
        lambda w, r: ("DELETE", f"{V}/organizations/{r.org_id}", None),
        "superuser",
    ),
    Route(
        "list members", lambda w, r: ("GET", f"{V}/organizations/{r.org_id}/members", None), "admin"
    ),
    Route(
        "set member",
        lambda w, r: (
            "POST",
            f"{V}/organizations/{r.org_id}/members",
            {"email": "bystander@example.com", "role": "viewer"},
        ),
        "admin",
        ok=200,
    ),
    Route("remove member", _member_delete, "admin"),
    Route(
        "list teams",
        lambda w, r: ("GET", f"{V}/teams?limit=200", None),
        "viewer",
        listed=lambda r: r.team,
    ),
    Route(
        "create team",
        lambda w, r: ("POST", f"{V}/teams", {"organization_id": r.org_id, "name": f"new-{r.team}"}),
        "maintainer",
    ),
    Route("get team", lambda w, r: ("GET", f"{V}/teams/{r.team}", None), "viewer"),
    Route(
        "update team",
        lambda w, r: ("PATCH", f"{V}/teams/{r.team}", {"name": f"renamed-{r.team}"}),
        "maintainer",
    ),
    Route("delete team", lambda w, r: ("DELETE", f"{V}/teams/{r.team}", None), "maintainer"),
    Route("list memberships", lambda w, r: ("GET", f"{V}/teams/{r.team}/members", None), "viewer"),
    Route(
        "add membership",
        lambda w, r: (
            "POST",
            f"{V}/teams/{r.team}/members",
            {"person_id": r.other_person, "valid_from": "2024-01-01T00:00:00Z"},
        ),
        "maintainer",
    ),
    Route(
        "end membership",
        lambda w, r: (
            "PATCH",
            f"{V}/teams/{r.team}/members/{r.membership}",
            {"valid_to": "2024-06-01T00:00:00Z"},
        ),
        "maintainer",
    ),
    Route(
        "delete membership",
        lambda w, r: ("DELETE", f"{V}/teams/{r.team}/members/{r.membership}", None),
        "maintainer",
    ),
    Route(
        "list repositories",
        lambda w, r: ("GET", f"{V}/repositories?name={r.repo_name}", None),
        "viewer",
        listed=lambda r: r.repo,
    ),
    Route(
        "create repository",
        lambda w, r: (
            "POST",
            f"{V}/repositories",
            {"organization_id": r.org_id, "provider": "github", "name": r.repo_name},
        ),
        "maintainer",
    ),
    Route("get repository", lambda w, r: ("GET", f"{V}/repositories/{r.repo}", None), "viewer"),
    Route(
        "update repository",
        lambda w, r: (
            "PATCH",
            f"{V}/repositories/{r.repo}",
            {"default_branch": "main", "owning_team_id": r.team},
        ),
        "maintainer",
    ),
    Route(
        "delete repository", lambda w, r: ("DELETE", f"{V}/repositories/{r.repo}", None), "admin"
    ),
    Route(
        "list services",
        lambda w, r: ("GET", f"{V}/services?limit=200", None),
        "viewer",
        listed=lambda r: r.service,
    ),
    Route(
        "create service",
        lambda w, r: (
            "POST",
            f"{V}/services",
            {"organization_id": r.org_id, "name": f"new-{r.service}"},
        ),
        "maintainer",
    ),
    Route("get service", lambda w, r: ("GET", f"{V}/services/{r.service}", None), "viewer"),
    Route(
        "update service",
        lambda w, r: ("PATCH", f"{V}/services/{r.service}", {"owning_team_id": r.team}),
        "maintainer",
    ),
    Route(
        "delete service", lambda w, r: ("DELETE", f"{V}/services/{r.service}", None), "maintainer"
    ),
    Route(
        "list developers",
        lambda w, r: ("GET", f"{V}/developers?email={r.email}", None),
        "viewer",
        listed=lambda r: r.person,
    ),
    Route("get developer", lambda w, r: ("GET", f"{V}/developers/{r.person}", None), "viewer"),
    Route(
        "update developer",
        lambda w, r: ("PATCH", f"{V}/developers/{r.person}", {"display_name": "Ada"}),
        "maintainer",
    ),
    Route(
        "merge developers",
        lambda w, r: ("POST", f"{V}/developers/{r.person}/merge", {"person_ids": [r.other_person]}),
        "maintainer",
        ok=200,
    ),
    Route(
        "unmerge developer",
        lambda w, r: ("POST", f"{V}/developers/{r.person}/unmerge", {"identity_ids": [r.identity]}),
        "maintainer",
        ok=200,
    ),
    Route(
        "list deployments",
        lambda w, r: ("GET", f"{V}/deployments?repository_id={r.repo}", None),
        "viewer",
        listed=lambda r: r.deployment,
    ),
    Route(
        "get deployment", lambda w, r: ("GET", f"{V}/deployments/{r.deployment}", None), "viewer"
    ),
    Route(
        "mark deployment failed",
        lambda w, r: ("PATCH", f"{V}/deployments/{r.deployment}", {"marked_failed": True}),
        "maintainer",
    ),
    Route(
        "list incidents",
        lambda w, r: ("GET", f"{V}/incidents?service_id={r.service}", None),
        "viewer",
        listed=lambda r: r.incident,
    ),
    Route("get incident", lambda w, r: ("GET", f"{V}/incidents/{r.incident}", None), "viewer"),
    Route(
        "link incident",
        lambda w, r: ("PATCH", f"{V}/incidents/{r.incident}", {"deployment_id": r.deployment}),
        "maintainer",
    ),
    Route(
        "dora report",
        lambda w, r: ("GET", f"{V}/analytics/dora?repo={r.repo_name}", None),
        "viewer",
    ),
    Route(
        "team dora report",
        lambda w, r: ("GET", f"{V}/analytics/dora/{r.team}", None),
        "viewer",
    ),
    Route(
        "data quality",
        lambda w, r: ("GET", f"{V}/analytics/data-quality?repo={r.repo_name}", None),
        "viewer",
    ),
    Route(
        "flow report",
        lambda w, r: ("GET", f"{V}/analytics/flow?repo={r.repo_name}", None),
        "viewer",
    ),
    Route("team report", lambda w, r: ("GET", f"{V}/analytics/team/{r.team}", None), "viewer"),
    Route(
        "pull request stages",
        lambda w, r: ("GET", f"{V}/analytics/pull-requests?repo={r.repo_name}", None),
        "viewer",
    ),
    Route(
        "review load",
        lambda w, r: ("GET", f"{V}/analytics/review-load?repo={r.repo_name}", None),
        "viewer",
    ),
    Route(
        "team sprints",
        lambda w, r: ("GET", f"{V}/analytics/sprints?team_id={r.team}", None),
        "viewer",
    ),
    Route(
        "team sprint report",
        lambda w, r: ("GET", f"{V}/analytics/sprints/{_sprint(w, r)}?team_id={r.team}", None),
        "viewer",
    ),
    Route(
        "list service repositories",
        lambda w, r: ("GET", f"{V}/services/{r.service}/repositories", None),
        "viewer",
    ),
    Route(
        "link service repository",
        lambda w, r: (
            "POST",
            f"{V}/services/{r.service}/repositories",
            {"repository_id": r.repo},
        ),
        "maintainer",
    ),
    Route("unlink service repository", _unlink, "maintainer"),
    Route(
        "organization audit",
        lambda w, r: ("GET", f"{V}/audit?organization_id={r.org_id}", None),
        "admin",
    ),
    Route(
        "create API key",
        lambda w, r: (
            "POST",
            f"{V}/api-keys",
            {"name": "ci", "organization_id": r.org_id, "role": "viewer"},
        ),
        "viewer",
    ),
]
# Routes outside any organisation: the same answer whoever of an organisation asks.
INSTANCE_ROUTES = [
    ("GET", f"{V}/users", None, 403),
    ("POST", f"{V}/users", {"email": "x@example.com", "password": "p" * 12}, 403),
    ("GET", f"{V}/audit", None, 403),
    ("GET", f"{V}/me", None, 200),
    ("GET", f"{V}/sources", None, 403),
    ("GET", f"{V}/quarantine", None, 403),
    ("POST", f"{V}/sources/git:repo/sync", None, 403),
    ("GET", f"{V}/connections", None, 403),
    (
        "POST",
        f"{V}/connections",
        {"kind": "git", "name": "repo", "options": {"location": "/srv/repo"}},
        403,
    ),
    ("GET", f"{V}/connections/repo", None, 403),
    ("PATCH", f"{V}/connections/repo", {"enabled": False}, 403),
    ("DELETE", f"{V}/connections/repo", None, 403),
    ("POST", f"{V}/connections/repo/test", None, 403),
    ("GET", f"{V}/api-keys", None, 200),
]


_shared: dict[tuple[int, str], Rows] = {}


def _rows(world: World, org: str) -> Rows:
    """Rows shared by the read-only cases of a world; writes get rows of their own."""
    key = (id(world), org)
    if key not in _shared:
        with world.session() as session:
            _shared[key] = seed(session, world.org_ids[org])
    return _shared[key]


def _call(world: World, who: str, request: Request) -> Any:
    method, url, body = request
    return world.client.request(method, url, json=body, headers=world.headers(who))


@pytest.mark.parametrize("own", [True, False], ids=["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_route_by_role_and_organisation(
    module_world: World, route: Route, role: str, own: bool
) -> None:
    rows = _rows(module_world, "alpha" if own else "beta")
    request = route.request(module_world, rows)
    if request[0] != "GET":
        with module_world.session() as session:
            rows = seed(session, rows.org_id)
        request = route.request(module_world, rows)
    response = _call(module_world, f"alpha:{role}", request)

    allowed = own and route.minimum != "superuser" and at_least(role, route.minimum)
    if route.listed is not None:
        assert response.status_code == 200, response.text
        ids = {item["id"] for item in response.json()["items"]}
        assert (route.listed(rows) in ids) is own
    elif allowed:
        assert response.status_code == (route.ok or OK[request[0]]), response.text
    else:
        assert response.status_code == (403 if own or route.instance else 404), response.text
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_instance_administrator_may_do_everything(module_world: World, route: Route) -> None:
    with module_world.session() as session:
        rows = seed(session, new_organization(session))
    request = route.request(module_world, rows)

    response = _call(module_world, "root", request)

    if route.listed is not None:
        assert route.listed(rows) in {item["id"] for item in response.json()["items"]}
    assert response.status_code == (route.ok or OK[request[0]]), response.text


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "request_", INSTANCE_ROUTES, ids=[f"{m} {u}" for m, u, _, _ in INSTANCE_ROUTES]
)
def test_instance_routes_by_role(
    module_world: World, role: str, request_: tuple[str, str, Any, int]
) -> None:
    method, url, body, expected = request_
    response = _call(module_world, f"alpha:{role}", (method, url, body))
    assert response.status_code == expected, response.text

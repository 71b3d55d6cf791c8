"""Every route, by role (admin, maintainer, viewer of organisation alpha) and by target
organisation (own: alpha, other: beta), on SQLite and PostgreSQL; then the same with API keys
narrowed below their user's rights, and the account routes (users, keys) by who asks and
whose account it is.

Rows of another organisation answer 404, exactly like rows that do not exist; a weak role in
one's own organisation answers 403; lists never show another organisation's rows. Each case
acts on rows made fresh for it, so writes and deletes cannot disturb other cases. Every
operation of the OpenAPI document is in one of these lists or exempt, with its reason.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api_support import NOW, PASSWORD, Rows, World, add_user, new_organization, seed
from flow_api_support import seed_flow
from sqlalchemy import select

from diogen.accounts.api_keys import create_api_key
from diogen.accounts.models import User
from diogen.accounts.roles import ROLES, at_least
from diogen.accounts.tokens import issue_access_token
from diogen.accounts.users import get_user, grant_role
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
    keys: bool = True  # False: refused (403) to every API key, whatever its role


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
        keys=False,  # a key made by a key would outlive the revocation or expiry of its maker
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


# --- API keys narrowed below their user -------------------------------------------------


@dataclass(frozen=True)
class Key:
    """An API key of a world's user, and the roles it acts with by organisation name."""

    name: str
    owner: str  # "alpha:admin", "root"
    role: str
    organization: str | None  # None: every organisation of the owner
    roles: dict[str, str]


KEYS = [
    Key("viewer key of alpha's admin", "alpha:admin", "viewer", "alpha", {"alpha": "viewer"}),
    Key(
        "maintainer key of alpha's admin, every organisation",
        "alpha:admin",
        "maintainer",
        None,
        {"alpha": "maintainer"},
    ),
    Key(
        "viewer key of the instance administrator, every organisation",
        "root",
        "viewer",
        None,
        {"alpha": "viewer", "beta": "viewer"},
    ),
    Key(
        "admin key of the instance administrator for alpha",
        "root",
        "admin",
        "alpha",
        {"alpha": "admin"},
    ),
]
# The one key that acts as an instance administrator: admin role, every organisation.
ROOT_KEY = Key("admin key of the instance administrator", "root", "admin", None, {})

_keys: dict[tuple[int, str], dict[str, str]] = {}


def _new_key(world: World, user_id: str, role: str, organization: str | None) -> tuple[str, str]:
    """A fresh key of `user_id`: its id and its text."""
    with world.session() as session:
        key, text = create_api_key(
            session,
            get_user(session, user_id),
            name="matrix",
            organization_id=world.org_ids[organization] if organization else None,
            role=role,
            now=NOW,
        )
        return key.id, text


def _all_listed(world: World, url: str, headers: dict[str, str]) -> set[str]:
    """The ids of every page of a list: the cases before these leave more rows than a page."""
    ids: set[str] = set()
    separator = "&" if "?" in url else "?"
    page = world.client.get(url, headers=headers).json()
    while True:
        ids |= {item["id"] for item in page["items"]}
        if not page.get("next_cursor"):
            return ids
        page = world.client.get(
            f"{url}{separator}cursor={page['next_cursor']}", headers=headers
        ).json()


def _key_headers(world: World, key: Key) -> dict[str, str]:
    """The key's Authorization header, made once per world."""
    if (id(world), key.name) not in _keys:
        user_id = world.user_ids[key.owner]
        _, text = _new_key(world, user_id, key.role, key.organization)
        _keys[id(world), key.name] = {"Authorization": f"Bearer {text}"}
    return _keys[id(world), key.name]


@pytest.mark.parametrize("own", [True, False], ids=["own", "other"])
@pytest.mark.parametrize("key", KEYS, ids=[k.name for k in KEYS])
@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_route_by_narrowed_key_and_organisation(
    module_world: World, route: Route, key: Key, own: bool
) -> None:
    """A key acts with its own role, never its user's: an admin's viewer key is a viewer."""
    org = "alpha" if own else "beta"
    rows = _rows(module_world, org)
    request = route.request(module_world, rows)
    if request[0] != "GET":
        with module_world.session() as session:
            rows = seed(session, rows.org_id)
        request = route.request(module_world, rows)
    method, url, body = request
    headers = _key_headers(module_world, key)
    response = module_world.client.request(method, url, json=body, headers=headers)

    role = key.roles.get(org)
    allowed = (
        route.keys
        and role is not None
        and route.minimum != "superuser"
        and at_least(role, route.minimum)
    )
    if route.listed is not None:
        assert response.status_code == 200, response.text
        ids = _all_listed(module_world, url, headers)
        assert (route.listed(rows) in ids) is (role is not None)
    elif allowed:
        assert response.status_code == (route.ok or OK[method]), response.text
    else:
        seen = role is not None or route.instance or not route.keys
        assert response.status_code == (403 if seen else 404), response.text
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_instance_administrators_admin_key_may_do_what_keys_may(
    module_world: World, route: Route
) -> None:
    with module_world.session() as session:
        rows = seed(session, new_organization(session))
    method, url, body = route.request(module_world, rows)
    headers = _key_headers(module_world, ROOT_KEY)

    response = module_world.client.request(method, url, json=body, headers=headers)

    if not route.keys:
        assert response.status_code == 403, response.text
        assert "sign in" in response.json()["detail"]
        return
    if route.listed is not None:
        assert route.listed(rows) in _all_listed(module_world, url, headers)
    assert response.status_code == (route.ok or OK[method]), response.text


@pytest.mark.parametrize("key", KEYS, ids=[k.name for k in KEYS])
@pytest.mark.parametrize(
    "request_", INSTANCE_ROUTES, ids=[f"{m} {u}" for m, u, _, _ in INSTANCE_ROUTES]
)
def test_instance_routes_by_narrowed_key(
    module_world: World, key: Key, request_: tuple[str, str, Any, int]
) -> None:
    """A key of the instance administrator below admin of every organisation is no
    administrator of the instance: what an organisation's user gets, it gets."""
    method, url, body, expected = request_
    response = module_world.client.request(
        method, url, json=body, headers=_key_headers(module_world, key)
    )
    assert response.status_code == expected, response.text


# --- Accounts: users and keys, by who asks and whose account it is ------------------------


@dataclass(frozen=True)
class Actor:
    """Who asks, made fresh for one case: a user (and the key used, if one is)."""

    user_id: str
    headers: dict[str, str]
    key_id: str | None = None


@dataclass(frozen=True)
class AccountCase:
    """A request on an account, and the answer to each kind of asker."""

    name: str
    request: Callable[[World, Actor], Request]
    member: int  # a signed-in user of alpha, whatever their role
    root: int  # a signed-in instance administrator
    key: int  # any key of KEYS
    root_key: int  # ROOT_KEY


ACTORS = [*ROLES, "root", *(k.name for k in KEYS), ROOT_KEY.name]
NEW_PASSWORD = "a brand new passphrase"
_accounts = itertools.count()


def _fresh_user(world: World, roles: dict[str, str], *, superuser: bool = False) -> str:
    """A user of its own, holding `roles` by organisation name."""
    with world.session() as session:
        user = add_user(session, f"account-{next(_accounts)}@example.com", superuser=superuser)
        for org, role in roles.items():
            grant_role(session, user.id, world.org_ids[org], role, now=NOW)
        return user.id


def _actor(world: World, who: str) -> Actor:
    keys = {k.name: k for k in [*KEYS, ROOT_KEY]}
    if who in keys:
        key = keys[who]
        owner = world.user_ids[key.owner]
        with world.session() as session:
            superuser, grants = get_user(session, owner).is_superuser, {}
        if not superuser:
            grants = {key.owner.split(":")[0]: key.owner.split(":")[1]}
        user_id = _fresh_user(world, grants, superuser=superuser)
        key_id, text = _new_key(world, user_id, key.role, key.organization)
        return Actor(user_id, {"Authorization": f"Bearer {text}"}, key_id)
    user_id = _fresh_user(world, {} if who == "root" else {"alpha": who}, superuser=who == "root")
    token = issue_access_token(user_id, world.state.signing_key(), now=NOW, minutes=60)
    return Actor(user_id, {"Authorization": f"Bearer {token}"})


# Whose account a PATCH /users/{id} acts on, made fresh for the case.
TARGETS: dict[str, Callable[[World], str]] = {
    "a member of alpha": lambda w: _fresh_user(w, {"alpha": "viewer"}),
    "a member of alpha who is beta's admin": lambda w: _fresh_user(
        w, {"alpha": "viewer", "beta": "admin"}
    ),
    "a member of beta": lambda w: _fresh_user(w, {"beta": "viewer"}),
    "an instance administrator": lambda w: _fresh_user(w, {}, superuser=True),
}


def _own(body: dict[str, Any]) -> Callable[[World, Actor], Request]:
    return lambda w, a: ("PATCH", f"{V}/users/{a.user_id}", body)


def _theirs(target: str, body: dict[str, Any]) -> Callable[[World, Actor], Request]:
    return lambda w, a: ("PATCH", f"{V}/users/{TARGETS[target](w)}", body)


def _revoke(whose: str) -> Callable[[World, Actor], Request]:
    def request(world: World, actor: Actor) -> Request:
        if whose == "itself" and actor.key_id is not None:
            key_id = actor.key_id
        else:
            user_id = actor.user_id if whose != "another user's" else _fresh_user(world, {})
            key_id, _ = _new_key(world, user_id, "viewer", None)
        return "DELETE", f"{V}/api-keys/{key_id}", None

    return request


OWN_PASSWORD = {"password": NEW_PASSWORD, "current_password": PASSWORD}
ACCOUNT_CASES = [
    AccountCase("change own password", _own(OWN_PASSWORD), 200, 200, 403, 403),
    AccountCase(
        "change own password without the current one",
        _own({"password": NEW_PASSWORD}),
        400,
        400,
        403,
        403,
    ),
    AccountCase(
        "change own password with a wrong current one",
        _own({"password": NEW_PASSWORD, "current_password": "not my password"}),
        403,
        403,
        403,
        403,
    ),
    AccountCase(
        "make oneself an instance administrator", _own({"is_superuser": True}), 403, 200, 403, 403
    ),
    AccountCase("disable oneself", _own({"is_active": False}), 403, 200, 403, 200),
    *(
        AccountCase(
            f"reset the password of {target}",
            _theirs(target, {"password": NEW_PASSWORD}),
            404,
            200,
            403,
            403,
        )
        for target in TARGETS
    ),
    AccountCase(
        "make a member an instance administrator",
        _theirs("a member of alpha", {"is_superuser": True}),
        404,
        200,
        403,
        403,
    ),
    AccountCase(
        "enable a member", _theirs("a member of alpha", {"is_active": True}), 404, 200, 403, 403
    ),
    AccountCase(
        "disable a member", _theirs("a member of alpha", {"is_active": False}), 404, 200, 404, 200
    ),
    AccountCase(
        "disable an instance administrator",
        _theirs("an instance administrator", {"is_active": False}),
        404,
        200,
        404,
        200,
    ),
    AccountCase("revoke the key in use", _revoke("itself"), 204, 204, 204, 204),
    AccountCase("revoke another key of one's own", _revoke("own"), 204, 204, 403, 204),
    AccountCase("revoke another user's key", _revoke("another user's"), 404, 204, 404, 204),
]


def _expected(case: AccountCase, who: str) -> int:
    if who in ROLES:
        return case.member
    if who == "root":
        return case.root
    return case.root_key if who == ROOT_KEY.name else case.key


def _accounts_snapshot(world: World) -> set[tuple[str, str, bool, bool]]:
    with world.session() as session:
        rows = session.execute(
            select(User.id, User.password_hash, User.is_superuser, User.is_active)
        ).all()
    return {tuple(row) for row in rows}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("case", ACCOUNT_CASES, ids=[c.name for c in ACCOUNT_CASES])
def test_account_route_by_asker_and_account(
    module_world: World, case: AccountCase, who: str
) -> None:
    """Nobody changes an account but its user (their password, with the current one) and
    instance administrators, signed in; a key of any role changes no password and widens no
    account; an organisation's admin resets no password, a member's or anyone else's."""
    actor = _actor(module_world, who)
    request = case.request(module_world, actor)
    before = _accounts_snapshot(module_world)

    method, url, body = request
    response = module_world.client.request(method, url, json=body, headers=actor.headers)

    expected = _expected(case, who)
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        if method == "PATCH":
            assert _accounts_snapshot(module_world) == before  # nothing changed, not in part
    if who not in (*ROLES, "root") and body is not None and "password" in body:
        assert response.json()["detail"] == "API keys cannot change passwords; sign in"


# --- Every operation of the OpenAPI document is in the matrix, or exempt for a reason ------

# Operations the lists above leave out on purpose, each with where its access is tested.
EXEMPT: dict[tuple[str, str], str] = {
    ("GET", "/health"): "no credentials: the orchestrator's liveness probe (test_operations.py)",
    ("GET", "/ready"): "no credentials: the orchestrator's readiness probe (test_operations.py)",
    ("GET", "/metrics"): "no credentials: Prometheus' scrape, figures only (test_operations.py)",
    ("POST", f"{V}/auth/token"): "signing in: the password is the credential (test_auth.py)",
    ("POST", f"{V}/auth/refresh"): "the refresh token is the credential (test_auth.py)",
    ("POST", f"{V}/auth/logout"): "the refresh token is the credential (test_auth.py)",
    ("POST", f"{V}/ingest/{{source}}"): (
        "a maintainer of any organisation; each event is checked against the pusher's "
        "organisations (test_receive.py)"
    ),
    ("POST", f"{V}/webhooks/github"): "signed with the webhook's secret, no user (test_receive.py)",
    ("POST", f"{V}/webhooks/jira"): "signed with the webhook's secret (test_tracker_receive.py)",
    ("POST", f"{V}/webhooks/linear"): "signed with the webhook's secret (test_tracker_receive.py)",
    ("POST", f"{V}/webhooks/asana"): "signed with the webhook's secret (test_tracker_receive.py)",
}


def _operations(world: World) -> set[tuple[str, str]]:
    document = world.client.app.openapi()  # type: ignore[attr-defined]
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete", "head"}
    }


def _template_of(operations: set[tuple[str, str]], method: str, url: str) -> tuple[str, str]:
    path = url.partition("?")[0]
    matches = [
        (m, template)
        for m, template in operations
        if m == method and re.fullmatch(re.sub(r"\{[^}/]+\}", "[^/]+", template), path)
    ]
    assert len(matches) == 1, f"{method} {url} matches {matches or 'no operation'}"
    return matches[0]


def test_every_operation_is_in_the_matrix_or_exempt(module_world: World) -> None:
    """A new route joins a list above (or EXEMPT, with its reason): none skips the matrix."""
    operations = _operations(module_world)
    with module_world.session() as session:
        rows = seed(session, new_organization(session))
    actor = _actor(module_world, "viewer")
    requests = [
        *(route.request(module_world, rows) for route in ROUTES),
        *((method, url, body) for method, url, body, _ in INSTANCE_ROUTES),
        *(case.request(module_world, actor) for case in ACCOUNT_CASES),
    ]
    covered = {_template_of(operations, method, url) for method, url, _ in requests}

    missing = sorted(operations - covered - set(EXEMPT))
    assert not missing, f"operations in no list of the matrix and not exempt: {missing}"
    assert not covered & set(EXEMPT), "exempt, yet in the matrix"
    assert set(EXEMPT) <= operations, f"exempt, yet gone: {sorted(set(EXEMPT) - operations)}"

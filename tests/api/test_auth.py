"""Signing in, refresh tokens, API keys and the audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from api_support import NOW, PASSWORD, World
from sqlalchemy import event, select

from diogen.accounts.models import ApiKey, AppState, AuditEntry

V = "/api/v1"


def sign_in(world: World, email: str, password: str = PASSWORD) -> object:
    return world.client.post(f"{V}/auth/token", json={"email": email, "password": password})


def test_sign_in_refresh_and_reuse_of_a_refresh_token(world: World) -> None:
    first = sign_in(world, "viewer@alpha.example").json()
    me = world.client.get(f"{V}/me", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert me.json()["email"] == "viewer@alpha.example"
    assert me.json()["roles"] == {world.org_ids["alpha"]: "viewer"}

    second = world.client.post(f"{V}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    reused = world.client.post(f"{V}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    # A used token came back: it was copied, so the whole family is revoked.
    after = world.client.post(
        f"{V}/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
    )

    assert reused.status_code == 401
    assert reused.json()["type"] == "urn:diogen:problem:unauthenticated"
    assert after.status_code == 401


def test_wrong_password_and_unknown_user_fail_alike(world: World) -> None:
    wrong = sign_in(world, "viewer@alpha.example", "not the password")
    unknown = sign_in(world, "nobody@example.com")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_expired_and_forged_access_tokens_are_refused(world: World) -> None:
    expired = world.state.clock  # the app's clock is fixed at NOW
    token = world.tokens["alpha:viewer"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    assert (
        world.client.get(f"{V}/me", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )
    assert world.client.get(f"{V}/me").status_code == 401
    assert expired() == NOW


def test_disabled_user_loses_access_at_once(world: World) -> None:
    user_id = world.user_ids["alpha:viewer"]
    disabled = world.client.patch(
        f"{V}/users/{user_id}", json={"is_active": False}, headers=world.headers("root")
    )

    assert disabled.status_code == 200
    assert world.get("alpha:viewer", f"{V}/me").status_code == 401
    assert sign_in(world, "viewer@alpha.example").status_code == 401


def test_api_key_is_shown_once_scoped_and_revocable(world: World) -> None:
    alpha = world.org_ids["alpha"]
    created = world.client.post(
        f"{V}/api-keys",
        json={"name": "ci", "organization_id": alpha, "role": "viewer"},
        headers=world.headers("alpha:maintainer"),
    )
    assert created.status_code == 201
    key = created.json()["key"]
    listed = world.get("alpha:maintainer", f"{V}/api-keys").json()
    assert "key" not in listed[0] and key not in str(listed)
    with world.session() as session:
        stored = session.scalars(select(ApiKey)).one()
        assert key.split("_", 2)[2] not in stored.secret_hash  # the secret may hold "_"

    as_key = {"Authorization": f"Bearer {key}"}
    me = world.client.get(f"{V}/me", headers=as_key).json()
    # The maintainer's key acts as a viewer: writes are refused.
    write = world.client.post(
        f"{V}/teams", json={"organization_id": alpha, "name": "x"}, headers=as_key
    )
    other = world.client.get(f"{V}/organizations/{world.org_ids['beta']}", headers=as_key)
    with world.session() as session:
        assert session.scalars(select(ApiKey.last_used_at)).one() == NOW

    assert me["api_key_id"] == created.json()["id"] and me["roles"] == {alpha: "viewer"}
    assert write.status_code == 403
    assert other.status_code == 404

    revoked = world.client.delete(
        f"{V}/api-keys/{created.json()['id']}", headers=world.headers("alpha:maintainer")
    )
    assert revoked.status_code == 204
    assert world.client.get(f"{V}/me", headers=as_key).status_code == 401


def test_a_key_cannot_outgrow_its_user(world: World) -> None:
    alpha = world.org_ids["alpha"]
    too_strong = world.client.post(
        f"{V}/api-keys",
        json={"name": "x", "organization_id": alpha, "role": "admin"},
        headers=world.headers("alpha:viewer"),
    )
    key = world.client.post(
        f"{V}/api-keys",
        json={"name": "k", "organization_id": alpha, "role": "viewer"},
        headers=world.headers("alpha:viewer"),
    ).json()["key"]
    unscoped = world.client.post(
        f"{V}/api-keys", json={"name": "y"}, headers={"Authorization": f"Bearer {key}"}
    )

    assert too_strong.status_code == 403
    assert unscoped.status_code == 403


def test_writes_are_audited_with_who_and_request_id(world: World) -> None:
    alpha = world.org_ids["alpha"]
    response = world.client.post(
        f"{V}/teams",
        json={"organization_id": alpha, "name": "platform"},
        headers={**world.headers("alpha:maintainer"), "X-Request-ID": "req-42"},
    )
    assert response.headers["x-request-id"] == "req-42"

    log = world.get("alpha:admin", f"{V}/audit?organization_id={alpha}").json()["items"]
    viewer = world.get("alpha:viewer", f"{V}/audit?organization_id={alpha}")

    assert [(e["action"], e["user_id"], e["request_id"], e["target_id"]) for e in log] == [
        ("team.create", world.user_ids["alpha:maintainer"], "req-42", response.json()["id"])
    ]
    assert log[0]["changes"] == {"organization_id": alpha, "name": "platform", "parent_id": None}
    assert viewer.status_code == 403


def test_password_changes_are_audited_without_the_password(world: World) -> None:
    user_id = world.user_ids["alpha:viewer"]
    new = "another long passphrase"
    changed = world.client.patch(
        f"{V}/users/{user_id}",
        json={"password": new, "current_password": PASSWORD},
        headers=world.headers("alpha:viewer"),
    )

    assert changed.status_code == 200
    assert "password" not in changed.text
    assert sign_in(world, "viewer@alpha.example", new).status_code == 200
    with world.session() as session:
        entry = session.scalars(select(AuditEntry)).one()
        assert entry.changes == {"password": "[redacted]"}


def test_signing_key_is_generated_once_and_kept_in_the_database(world: World) -> None:
    with world.session() as session:
        stored = session.scalars(
            select(AppState.text_value).where(AppState.name == "jwt_signing_key")
        ).one()
    assert stored == world.state.signing_key()
    assert stored is not None and len(stored) >= 48


def _new_key(world: World, who: str, role: str, org: str | None = "alpha") -> dict[str, str]:
    body = {"name": "k", "role": role, "organization_id": world.org_ids[org] if org else None}
    key = world.client.post(f"{V}/api-keys", json=body, headers=world.headers(who)).json()["key"]
    return {"Authorization": f"Bearer {key}"}


def test_a_key_follows_its_users_roles_and_state_at_once(world: World) -> None:
    """Roles are read with the key on every request: nothing is cached that a change of
    role, a removal from the organisation or a disabled user would have to invalidate."""
    alpha, user_id = world.org_ids["alpha"], world.user_ids["alpha:maintainer"]
    scoped, unscoped = (
        _new_key(world, "alpha:maintainer", "maintainer"),
        _new_key(world, "alpha:maintainer", "maintainer", org=None),
    )
    members = f"{V}/organizations/{alpha}/members"

    def roles() -> list[object]:
        return [world.client.get(f"{V}/me", headers=h).json()["roles"] for h in (scoped, unscoped)]

    before = roles()
    world.client.post(
        members,
        json={"email": "maintainer@alpha.example", "role": "viewer"},
        headers=world.headers("alpha:admin"),
    )
    lowered = roles()
    world.client.delete(f"{members}/{user_id}", headers=world.headers("alpha:admin"))
    removed = roles()
    org = world.client.get(f"{V}/organizations/{alpha}", headers=scoped)
    world.client.patch(
        f"{V}/users/{user_id}", json={"is_active": False}, headers=world.headers("root")
    )
    disabled = [world.client.get(f"{V}/me", headers=h).status_code for h in (scoped, unscoped)]

    assert before == [{alpha: "maintainer"}, {alpha: "maintainer"}]
    assert lowered == [{alpha: "viewer"}, {alpha: "viewer"}]
    assert removed == [{}, {}] and org.status_code == 404
    assert disabled == [401, 401]


def test_a_keys_last_use_is_written_once_a_minute_not_on_every_request(world: World) -> None:
    key = _new_key(world, "alpha:viewer", "viewer")

    def use_at(seconds: int) -> object:
        world.state.clock = lambda: NOW + timedelta(seconds=seconds)
        assert world.client.get(f"{V}/me", headers=key).status_code == 200
        with world.session() as session:
            return session.scalars(select(ApiKey.last_used_at)).one()

    assert [use_at(0), use_at(30), use_at(59), use_at(60), use_at(90)] == [
        NOW,
        NOW,
        NOW,
        NOW + timedelta(seconds=60),
        NOW + timedelta(seconds=60),
    ]


def test_a_read_by_api_key_is_two_statements(world: World) -> None:
    """The key, its user and their roles in one query, then the route's own: a warm read
    makes no other round trip to the database (no pre-ping either, see test_operations)."""
    key = _new_key(world, "alpha:viewer", "viewer")
    alpha = world.org_ids["alpha"]
    world.client.get(f"{V}/organizations/{alpha}", headers=key)  # last use written
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    # A GET reads through the readers' engine (its own pool on PostgreSQL).
    event.listen(world.engine, "before_cursor_execute", seen)
    event.listen(world.state.reader, "before_cursor_execute", seen)
    try:
        answer = world.client.get(f"{V}/organizations/{alpha}", headers=key)
    finally:
        event.remove(world.engine, "before_cursor_execute", seen)
        event.remove(world.state.reader, "before_cursor_execute", seen)

    assert answer.status_code == 200
    assert len(statements) == 2, statements
    assert "api_key" in statements[0] and "role_grant" in statements[0]
    assert "organization" in statements[1]


def test_a_narrowed_key_cannot_change_its_users_password(world: World) -> None:
    """The audit's finding: an organisation admin's viewer key set the admin's password, and
    signing in with it gave an admin session (an instance administrator's key likewise).
    No key changes a password, whatever its role, with or without the current one."""
    keys = [
        ("alpha:admin", _new_key(world, "alpha:admin", "viewer")),
        ("root", _new_key(world, "root", "viewer", org=None)),
        ("root", _new_key(world, "root", "admin", org=None)),  # the instance admin's full key
    ]
    answers = []
    for who, key in keys:
        for body in (
            {"password": "attacker-chosen-pass"},
            {"password": "attacker-chosen-pass", "current_password": PASSWORD},
        ):
            answers.append(
                world.client.patch(f"{V}/users/{world.user_ids[who]}", json=body, headers=key)
            )
    other = world.client.patch(
        f"{V}/users/{world.user_ids['alpha:viewer']}",
        json={"password": "attacker-chosen-pass"},
        headers=keys[2][1],
    )

    for answer in [*answers, other]:
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == "API keys cannot change passwords; sign in"
    for email in ("admin@alpha.example", "root@example.com", "viewer@alpha.example"):
        assert sign_in(world, email, "attacker-chosen-pass").status_code == 401
        assert sign_in(world, email).status_code == 200


def test_a_key_cannot_make_an_administrator_or_enable_a_user(world: World) -> None:
    """Even the instance administrator's full key: widening rights takes a signed-in person.
    Narrowing (disabling a user, taking the flag away) stays possible."""
    key = _new_key(world, "root", "admin", org=None)
    viewer = f"{V}/users/{world.user_ids['alpha:viewer']}"

    promote = world.client.patch(viewer, json={"is_superuser": True}, headers=key)
    disable = world.client.patch(viewer, json={"is_active": False}, headers=key)
    enable = world.client.patch(viewer, json={"is_active": True}, headers=key)
    new_user = world.client.post(
        f"{V}/users",
        json={"email": "mallory@example.com", "password": "attacker-chosen-pass"},
        headers=key,
    )

    assert [promote.status_code, disable.status_code, enable.status_code] == [403, 200, 403]
    assert new_user.status_code == 403 and "sign in" in new_user.json()["detail"]
    assert disable.json()["is_active"] is False and disable.json()["is_superuser"] is False


def test_own_password_change_needs_the_current_password(world: World) -> None:
    me = f"{V}/users/{world.user_ids['alpha:admin']}"
    new = "another long passphrase"

    missing = world.client.patch(me, json={"password": new}, headers=world.headers("alpha:admin"))
    wrong = world.client.patch(
        me,
        json={"password": new, "current_password": "not the password"},
        headers=world.headers("alpha:admin"),
    )
    alone = world.client.patch(
        me, json={"current_password": PASSWORD}, headers=world.headers("alpha:admin")
    )
    # An instance administrator too, for their own password.
    root_missing = world.client.patch(
        f"{V}/users/{world.user_ids['root']}", json={"password": new}, headers=world.headers("root")
    )

    assert [missing.status_code, wrong.status_code, alone.status_code] == [400, 403, 400]
    assert root_missing.status_code == 400
    for answer in (missing, wrong, alone, root_missing):
        assert answer.headers["content-type"] == "application/problem+json"
        assert "current_password" in answer.json()["detail"]
    assert sign_in(world, "admin@alpha.example", new).status_code == 401

    right = world.client.patch(
        me,
        json={"password": new, "current_password": PASSWORD},
        headers=world.headers("alpha:admin"),
    )
    assert right.status_code == 200, right.text
    assert sign_in(world, "admin@alpha.example", new).status_code == 200
    assert sign_in(world, "admin@alpha.example").status_code == 401


def test_an_administrator_resets_another_users_password_without_theirs(world: World) -> None:
    target = f"{V}/users/{world.user_ids['alpha:viewer']}"
    new = "another long passphrase"

    reset = world.client.patch(target, json={"password": new}, headers=world.headers("root"))
    with_current = world.client.patch(
        target, json={"password": new, "current_password": PASSWORD}, headers=world.headers("root")
    )
    # An organisation admin resets nobody's password, not even a member's.
    by_org_admin = world.client.patch(
        target, json={"password": "yet another passphrase"}, headers=world.headers("alpha:admin")
    )

    assert reset.status_code == 200
    assert with_current.status_code == 400  # current_password is for one's own password
    assert by_org_admin.status_code == 404
    assert sign_in(world, "viewer@alpha.example", new).status_code == 200


def test_a_password_change_ends_the_users_refresh_tokens(world: World) -> None:
    """Sessions signed in with the old password cannot refresh (their access tokens expire
    within minutes); a reset by an administrator and disabling a user end them likewise."""
    new = "another long passphrase"

    def refreshes(token: str) -> int:
        answer = world.client.post(f"{V}/auth/refresh", json={"refresh_token": token})
        return int(answer.status_code)

    own = [sign_in(world, "admin@alpha.example").json()["refresh_token"] for _ in range(2)]
    world.client.patch(
        f"{V}/users/{world.user_ids['alpha:admin']}",
        json={"password": new, "current_password": PASSWORD},
        headers=world.headers("alpha:admin"),
    )
    reset = sign_in(world, "viewer@alpha.example").json()["refresh_token"]
    world.client.patch(
        f"{V}/users/{world.user_ids['alpha:viewer']}",
        json={"password": new},
        headers=world.headers("root"),
    )
    disabled = sign_in(world, "maintainer@alpha.example").json()["refresh_token"]
    maintainer = f"{V}/users/{world.user_ids['alpha:maintainer']}"
    world.client.patch(maintainer, json={"is_active": False}, headers=world.headers("root"))
    world.client.patch(maintainer, json={"is_active": True}, headers=world.headers("root"))
    untouched = sign_in(world, "admin@beta.example").json()["refresh_token"]

    assert [refreshes(t) for t in (*own, reset, disabled)] == [401, 401, 401, 401]
    assert refreshes(untouched) == 200
    fresh = sign_in(world, "admin@alpha.example", new).json()["refresh_token"]
    assert refreshes(fresh) == 200


def test_a_key_cannot_create_keys_and_revokes_only_itself(world: World) -> None:
    """A leaked key must not outlive its revocation or expiry through keys it made, nor
    revoke the keys its user's other machines depend on."""
    alpha = world.org_ids["alpha"]
    key = _new_key(world, "alpha:admin", "admin")
    sibling = world.client.post(
        f"{V}/api-keys",
        json={"name": "deploy", "organization_id": alpha, "role": "maintainer"},
        headers=world.headers("alpha:admin"),
    ).json()["id"]
    own_id = world.client.get(f"{V}/me", headers=key).json()["api_key_id"]

    minted = [
        world.client.post(
            f"{V}/api-keys",
            json={"name": "x", "organization_id": alpha, "role": role},
            headers=key,
        )
        for role in ("viewer", "admin")
    ]
    revoke_sibling = world.client.delete(f"{V}/api-keys/{sibling}", headers=key)
    revoke_self = world.client.delete(f"{V}/api-keys/{own_id}", headers=key)

    assert [m.status_code for m in minted] == [403, 403]
    assert minted[0].json()["detail"] == "API keys cannot create API keys; sign in"
    assert revoke_sibling.status_code == 403
    assert revoke_self.status_code == 204
    assert world.client.get(f"{V}/me", headers=key).status_code == 401
    listed = world.get("alpha:admin", f"{V}/api-keys").json()
    assert [k["revoked_at"] is None for k in listed] == [False, True]

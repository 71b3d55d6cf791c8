"""Users (instance administrators manage them), API keys (everyone, for themselves), audit log.

An API key acts for its user, narrowed, and must not be a way out of its narrowing: a key
changes no password, creates no user and no key, makes nobody an instance administrator and
enables no user; for these its holder signs in. A key revokes itself, not its siblings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy import select

from diogen.accounts.api_keys import create_api_key, revoke_api_key
from diogen.accounts.errors import PermissionDenied
from diogen.accounts.models import ApiKey, AuditEntry, User
from diogen.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from diogen.accounts.roles import Role
from diogen.accounts.users import (
    change_own_password,
    create_user,
    disable_user,
    get_user,
    reset_password,
)
from diogen.api.access import Principal
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.pagination import Page, paginate, sort_choices
from diogen.api.routes.common import DEFAULT_PAGE, Cursor, Limit, answer, api_router, audit, missing
from diogen.errors import InputError

router = api_router("users and keys")
USER_SORTS = {"email": User.email, "created_at": User.created_at}
AUDIT_SORTS = {"at": AuditEntry.at}
USER_EXAMPLE: JsonDict = {
    "id": "3c4d...",
    "email": "ada@example.com",
    "is_superuser": False,
    "is_active": True,
    "created_at": "2024-05-01T09:00:00Z",
}


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [USER_EXAMPLE]})
    id: str
    email: str
    is_superuser: bool
    is_active: bool
    created_at: datetime


class UserIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.com", "password": "a long phrase"}]},
    )
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    is_superuser: bool = False


class UserPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"is_active": False}]}
    )
    is_active: bool | None = None
    is_superuser: bool | None = None
    password: str | None = Field(None, min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    current_password: str | None = Field(
        None,
        max_length=MAX_LENGTH,
        description="Your password now: required to change your own password.",
    )


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "ci", "organization_id": "5f0c...", "role": "viewer"}]
        },
    )
    name: str = Field(min_length=1, max_length=255)
    organization_id: str | None = Field(None, max_length=64)
    role: Role = "viewer"
    expires_at: datetime | None = None


KEY_EXAMPLE: JsonDict = {
    "id": "7e8f...",
    "name": "ci",
    "prefix": "a1b2c3d4e5f6",
    "organization_id": "5f0c...",
    "role": "viewer",
    "created_at": "2024-05-01T09:00:00Z",
    "expires_at": None,
    "last_used_at": "2024-05-02T10:00:00Z",
    "revoked_at": None,
}


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [KEY_EXAMPLE]})
    id: str
    name: str
    prefix: str
    organization_id: str | None
    role: Role
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKeyOut(ApiKeyOut):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**KEY_EXAMPLE, "key": "dgn_a1b2c3d4e5f6_..."}]}
    )
    key: str = Field(description="The key itself: shown this once, never again.")


class AuditOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0a1b...",
                    "at": "2024-05-01T09:00:00Z",
                    "user_id": "3c4d...",
                    "api_key_id": None,
                    "organization_id": "5f0c...",
                    "action": "team.create",
                    "target_type": "team",
                    "target_id": "77aa...",
                    "request_id": "4b1e...",
                    "changes": {"name": "platform"},
                }
            ]
        },
    )
    id: str
    at: datetime
    user_id: str | None
    api_key_id: str | None
    organization_id: str | None
    action: str
    target_type: str
    target_id: str | None
    request_id: str | None
    changes: dict[str, object] | None


@router.get("/users", response_model=Page[UserOut])
def list_users(
    session: SessionDep,
    principal: PrincipalDep,
    sort: Annotated[str, Query(pattern=sort_choices(list(USER_SORTS)))] = "email",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Every user (instance administrators only)."""
    principal.require_superuser()
    rows, after = paginate(
        session,
        select(User),
        sort=sort,
        fields=USER_SORTS,
        id_column=User.id,
        cursor=cursor,
        limit=limit,
    )
    return answer(Page[UserOut](items=[UserOut.model_validate(r) for r in rows], next_cursor=after))


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(
    body: UserIn, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> UserOut:
    """Create a user (instance administrators only, signed in: not with an API key); give them
    roles through an organisation."""
    principal.require_superuser()
    if principal.api_key_id is not None:
        raise PermissionDenied("API keys cannot create users; sign in")
    user = create_user(
        session, body.email, body.password, now=state.clock(), superuser=body.is_superuser
    )
    audit(
        session,
        state,
        principal,
        "user.create",
        user.id,
        None,
        {"email": user.email, "is_superuser": body.is_superuser},
    )
    return UserOut.model_validate(user)


def _refuse_widening_by_key(principal: Principal, body: UserPatch) -> None:
    """A key may narrow an account (disable it, take its instance administration away), never
    widen one: with a password it set, a key of any role would sign in as its full user."""
    if principal.api_key_id is None:
        return
    if body.password is not None or body.current_password is not None:
        raise PermissionDenied("API keys cannot change passwords; sign in")
    if body.is_superuser or body.is_active:
        raise PermissionDenied(
            "API keys cannot make instance administrators or enable users; sign in"
        )


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(
    user_id: str, body: UserPatch, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> UserOut:
    """Disable, promote or reset the password of a user (instance administrators), or change
    your own password (with `current_password`). Not with an API key: a key changes no
    password, makes no administrator and enables no user. A password change ends the user's
    sessions (their refresh tokens); so does disabling them."""
    _refuse_widening_by_key(principal, body)
    changes = body.model_dump(exclude_unset=True, exclude={"current_password"})
    own = user_id == principal.user_id
    if not principal.is_superuser and not (own and set(changes) <= {"password"}):
        if not own:
            raise missing("user", user_id)
        raise PermissionDenied("only an instance administrator may change this")
    if body.current_password is not None and (body.password is None or not own):
        raise InputError(
            "current_password goes with password, when changing your own password: "
            "an instance administrator resets another user's without it"
        )
    user = get_user(session, user_id)
    now = state.clock()
    if body.password is not None:
        if own:
            change_own_password(session, user, body.current_password, body.password, now=now)
        else:
            reset_password(session, user, body.password, now=now)
    if body.is_active is False:
        disable_user(session, user, now=now)
    elif body.is_active is not None:
        user.is_active = body.is_active
    if body.is_superuser is not None:
        user.is_superuser = body.is_superuser
    audit(session, state, principal, "user.update", user.id, None, changes)
    return UserOut.model_validate(user)


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(session: SessionDep, principal: PrincipalDep) -> list[ApiKeyOut]:
    """Your API keys, revoked ones included; never their secret."""
    rows = session.scalars(
        select(ApiKey).where(ApiKey.user_id == principal.user_id).order_by(ApiKey.created_at)
    ).all()
    return [ApiKeyOut.model_validate(r) for r in rows]


@router.post("/api-keys", response_model=NewApiKeyOut, status_code=201)
def add_api_key(
    body: ApiKeyIn, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> NewApiKeyOut:
    """Create an API key acting as you, limited to one organisation (or all of yours) and a
    role. The key is in this answer only: store it now. Signed in only: a key creates no key
    (one it made would outlive its own revocation or expiry)."""
    if principal.api_key_id is not None:
        raise PermissionDenied("API keys cannot create API keys; sign in")
    if body.organization_id is not None:
        principal.require(
            body.organization_id, body.role, missing("organization", body.organization_id)
        )
    user = get_user(session, principal.user_id)
    key, text = create_api_key(
        session,
        user,
        name=body.name,
        organization_id=body.organization_id,
        role=body.role,
        now=state.clock(),
        expires_at=body.expires_at,
    )
    audit(
        session,
        state,
        principal,
        "api_key.create",
        key.id,
        body.organization_id,
        body.model_dump(mode="json"),
    )
    return NewApiKeyOut(**ApiKeyOut.model_validate(key).model_dump(), key=text)


@router.delete("/api-keys/{key_id}", status_code=204)
def revoke_key(
    key_id: str, session: SessionDep, principal: PrincipalDep, state: StateDep
) -> Response:
    """Revoke one of your API keys (instance administrators: anyone's) at once. With an API
    key: that key itself (an instance administrator's admin key of every organisation: any)."""
    key = session.get(ApiKey, key_id)
    if key is None or (key.user_id != principal.user_id and not principal.is_superuser):
        raise missing("API key", key_id)
    if principal.api_key_id not in (None, key.id) and not principal.is_superuser:
        raise PermissionDenied("an API key revokes only itself; sign in to revoke others")
    revoke_api_key(key, now=state.clock())
    audit(session, state, principal, "api_key.revoke", key.id, key.organization_id)
    return Response(status_code=204)


@router.get("/audit", response_model=Page[AuditOut])
def list_audit(
    session: SessionDep,
    principal: PrincipalDep,
    organization_id: Annotated[str | None, Query(max_length=64)] = None,
    sort: Annotated[str, Query(pattern=sort_choices(list(AUDIT_SORTS)))] = "-at",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Response:
    """Writes, newest first: of one organisation (its admins), or all (instance administrators)."""
    stmt = select(AuditEntry)
    if organization_id is not None:
        principal.require(organization_id, "admin", missing("organization", organization_id))
        stmt = stmt.where(AuditEntry.organization_id == organization_id)
    else:
        principal.require_superuser()
    rows, after = paginate(
        session,
        stmt,
        sort=sort,
        fields=AUDIT_SORTS,
        id_column=AuditEntry.id,
        cursor=cursor,
        limit=limit,
    )
    return answer(
        Page[AuditOut](items=[AuditOut.model_validate(r) for r in rows], next_cursor=after)
    )

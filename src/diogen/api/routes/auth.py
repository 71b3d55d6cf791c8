"""Signing in (access and refresh tokens) and who you are."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from diogen.accounts.errors import AuthenticationError
from diogen.accounts.roles import Role
from diogen.accounts.tokens import (
    RefreshTokenReused,
    issue_access_token,
    issue_refresh_token,
    revoke_all_refresh_tokens,
    revoke_refresh_token,
    use_refresh_token,
)
from diogen.accounts.users import authenticate, get_user
from diogen.api.deps import PrincipalDep, SessionDep, StateDep
from diogen.api.routes.common import api_router
from diogen.db import session_scope

router = api_router("auth")


class Credentials(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "admin@example.com", "password": "••••••••"}]},
    )
    email: str = Field(max_length=320)
    password: str = Field(max_length=256)


class RefreshIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"refresh_token": "q8Zk..."}]}
    )
    refresh_token: str = Field(max_length=200)


class TokenOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiJ9...",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "q8Zk...",
                }
            ]
        }
    )
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str


class MeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3c4d...",
                    "email": "ada@example.com",
                    "is_superuser": False,
                    "roles": {"5f0c...": "maintainer"},
                    "api_key_id": None,
                }
            ]
        }
    )
    id: str
    email: str
    is_superuser: bool
    roles: dict[str, Role]
    api_key_id: str | None


def _tokens(session: SessionDep, state: StateDep, user_id: str) -> TokenOut:
    settings = state.settings
    now = state.clock()
    access = issue_access_token(
        user_id, state.signing_key(), now=now, minutes=settings.access_token_minutes
    )
    refresh = issue_refresh_token(session, user_id, now=now, days=settings.refresh_token_days)
    return TokenOut(
        access_token=access, expires_in=settings.access_token_minutes * 60, refresh_token=refresh
    )


@router.post("/auth/token", response_model=TokenOut)
def sign_in(body: Credentials, session: SessionDep, state: StateDep) -> TokenOut:
    """Exchange email and password for an access token and a refresh token."""
    user = authenticate(session, body.email, body.password)
    return _tokens(session, state, user.id)


@router.post("/auth/refresh", response_model=TokenOut)
def refresh(body: RefreshIn, session: SessionDep, state: StateDep) -> TokenOut:
    """Spend a refresh token for a new pair; each refresh token works once."""
    try:
        user_id = use_refresh_token(session, body.refresh_token, now=state.clock())
    except RefreshTokenReused as exc:
        # The request's transaction rolls back with the error; the revocation must stay.
        with session_scope(state.engine) as separate:
            revoke_all_refresh_tokens(separate, exc.user_id, now=state.clock())
        raise
    user = get_user(session, user_id)
    if not user.is_active:
        raise AuthenticationError("the user is disabled")
    return _tokens(session, state, user.id)


@router.post("/auth/logout", status_code=204)
def logout(body: RefreshIn, session: SessionDep, state: StateDep) -> Response:
    """Revoke a refresh token (access tokens expire on their own, within minutes)."""
    revoke_refresh_token(session, body.refresh_token, now=state.clock())
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    """The signed-in user (or the API key's user) and the roles in effect for this request."""
    return MeOut(
        id=principal.user_id,
        email=principal.email,
        is_superuser=principal.is_superuser,
        roles=dict(principal.roles),
        api_key_id=principal.api_key_id,
    )

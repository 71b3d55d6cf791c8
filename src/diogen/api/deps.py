"""FastAPI dependencies: the request's session, rate limits and the authenticated principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from diogen.accounts.api_keys import authenticate_api_key, looks_like_api_key
from diogen.accounts.errors import AuthenticationError
from diogen.accounts.models import ApiKey, User
from diogen.accounts.roles import weaker
from diogen.accounts.tokens import decode_access_token
from diogen.accounts.users import check_role, roles_of
from diogen.api.access import Principal
from diogen.api.logs import request_id
from diogen.api.ratelimit import enforce
from diogen.api.state import ApiState
from diogen.db import session_scope


async def api_state(request: Request) -> ApiState:
    # async: a sync dependency costs a trip to the thread pool on every request.
    state: ApiState = request.app.state.diogen
    return state


StateDep = Annotated[ApiState, Depends(api_state)]


def db_session(state: StateDep) -> Iterator[Session]:
    """One session per request, committed when the route returns (before the answer is sent,
    so a failed commit is an error answer, never a lost write)."""
    with session_scope(state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session, scope="function")]


async def limit_by_address(request: Request, state: StateDep) -> None:
    address = request.client.host if request.client else "unknown"
    args = (state.limiter, f"ip:{address}", state.settings.ip_rate_limit_per_minute, "address")
    # The in-process limiter is a dict lookup; only Redis is worth a trip to a worker thread.
    if state.redis is None:
        enforce(*args)
    else:
        await run_in_threadpool(enforce, *args)


_bearer = HTTPBearer(
    auto_error=False,
    description="An access token from POST /api/v1/auth/token, or an API key (dgn_...).",
)


def current_principal(
    state: StateDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise AuthenticationError("sign in: send Authorization: Bearer <access token or API key>")
    now = state.clock()
    text = credentials.credentials
    if looks_like_api_key(text):
        key = authenticate_api_key(session, text, now=now)
        user = session.get(User, key.user_id)
        assert user is not None  # authenticate_api_key checked it
        principal = _key_principal(session, user, key)
    else:
        user_id = decode_access_token(text, state.signing_key(), now=now)
        found = session.get(User, user_id)
        if found is None or not found.is_active:
            raise AuthenticationError("the user of this token is gone or disabled")
        principal = Principal(
            user_id=found.id,
            email=found.email,
            roles=roles_of(session, found.id),
            everywhere="admin" if found.is_superuser else None,
            is_superuser=found.is_superuser,
        )
    enforce(state.limiter, principal.limit_key, state.settings.rate_limit_per_minute, "key")
    return principal


def _key_principal(session: Session, user: User, key: ApiKey) -> Principal:
    """A key acts as its user, narrowed to its organisation and role."""
    held = roles_of(session, user.id)
    role = check_role(key.role)
    if key.organization_id is None:
        return Principal(
            user_id=user.id,
            email=user.email,
            roles={org: weaker(r, role) for org, r in held.items()},
            everywhere=role if user.is_superuser else None,
            is_superuser=user.is_superuser and role == "admin",
            api_key_id=key.id,
        )
    base = held.get(key.organization_id) or ("admin" if user.is_superuser else None)
    roles = {key.organization_id: weaker(base, role)} if base else {}
    return Principal(user_id=user.id, email=user.email, roles=roles, api_key_id=key.id)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def current_request_id() -> str | None:
    return request_id.get()

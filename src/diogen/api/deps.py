"""FastAPI dependencies: the request's session, rate limits and the authenticated principal.

Every sync dependency costs a trip to the thread pool and back; a request that reads makes
two (the principal, then the route), and its database work is two queries: the principal's
(key, user and roles together) and the route's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from diogen.accounts.api_keys import authenticate_api_key, looks_like_api_key
from diogen.accounts.errors import AuthenticationError
from diogen.accounts.roles import weaker
from diogen.accounts.tokens import decode_access_token
from diogen.accounts.users import Holder, active_user
from diogen.api.access import Principal
from diogen.api.ratelimit import Limit, enforce
from diogen.api.state import ApiState
from diogen.logs import request_id
from diogen.metrics.gold import refresh_gold

READS = ("GET", "HEAD")


async def api_state(request: Request) -> ApiState:
    # async: a sync dependency costs a trip to the thread pool on every request.
    state: ApiState = request.app.state.diogen
    return state


StateDep = Annotated[ApiState, Depends(api_state)]


async def db_session(request: Request, state: StateDep) -> AsyncIterator[Session]:
    """One session per request (connected on first use).

    A GET only reads (its one write, an API key's last-used time, stands alone), so it reads
    in autocommit: no BEGIN and COMMIT round trips, and closing it does no I/O. Under
    PostgreSQL's READ COMMITTED each statement sees its own snapshot either way, and SQLite
    opens no transaction for reads. Other methods commit when the route returns, before the
    answer is sent, so a failed commit is an error answer, never a lost write.
    """
    if request.method in READS:
        session = Session(state.reader, expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
        return
    session = Session(state.engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_discard, session)
        raise
    await run_in_threadpool(_commit, session)


def _commit(session: Session) -> None:
    try:
        # Gold for whatever the request wrote (the database logged it), in its transaction:
        # edits, merges of developers, pushed events and webhooks alike.
        refresh_gold(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _discard(session: Session) -> None:
    session.rollback()
    session.close()


SessionDep = Annotated[Session, Depends(db_session, scope="function")]


def _address(request: Request, state: ApiState) -> Limit:
    address = request.client.host if request.client else "unknown"
    return Limit(f"ip:{address}", state.settings.ip_rate_limit_per_minute, "address")


async def limit_by_address(request: Request, state: StateDep) -> None:
    """The per-address limit of a route that does not authenticate. A route that does counts
    the address in `current_principal`, together with the key: one round trip for both."""
    if _asks_for_principal(getattr(request.scope.get("route"), "dependant", None)):
        return
    limit = _address(request, state)
    # The in-process limiter is a dict lookup; only Redis is worth a trip to a worker thread.
    if state.redis is None:
        enforce(state.limiter, limit)
    else:
        await run_in_threadpool(enforce, state.limiter, limit)


def _asks_for_principal(dependant: Any) -> bool:
    if dependant is None:
        return False
    return any(
        d.call is current_principal or _asks_for_principal(d) for d in dependant.dependencies
    )


_bearer = HTTPBearer(
    auto_error=False,
    description="An access token from POST /api/v1/auth/token, or an API key (dgn_...).",
)


def current_principal(
    request: Request,
    state: StateDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who is asking. The address and the key (or user) are counted once the credentials are
    checked; a request whose credentials fail counts against its address only."""
    address = _address(request, state)
    try:
        principal = _authenticate(state, session, credentials)
    except AuthenticationError:
        enforce(state.limiter, address)
        raise
    per_key = Limit(principal.limit_key, state.settings.rate_limit_per_minute, "key")
    enforce(state.limiter, address, per_key)
    return principal


def _authenticate(
    state: ApiState, session: Session, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    if credentials is None:
        raise AuthenticationError("sign in: send Authorization: Bearer <access token or API key>")
    now = state.clock()
    text = credentials.credentials
    if looks_like_api_key(text):
        return _key_principal(authenticate_api_key(session, text, now=now))
    holder = active_user(session, decode_access_token(text, state.signing_key(), now=now))
    return Principal(
        user_id=holder.user_id,
        email=holder.email,
        roles=holder.roles,
        organization_names=holder.organization_names,
        everywhere="admin" if holder.is_superuser else None,
        is_superuser=holder.is_superuser,
    )


def _key_principal(holder: Holder) -> Principal:
    """A key acts as its user, narrowed to its organisation and role."""
    role = holder.key_role
    assert role is not None  # a key's holder
    if holder.key_organization_id is None:
        return Principal(
            user_id=holder.user_id,
            email=holder.email,
            roles={org: weaker(r, role) for org, r in holder.roles.items()},
            organization_names=holder.organization_names,
            everywhere=role if holder.is_superuser else None,
            is_superuser=holder.is_superuser and role == "admin",
            api_key_id=holder.key_id,
        )
    org = holder.key_organization_id
    base = holder.roles.get(org) or ("admin" if holder.is_superuser else None)
    roles = {org: weaker(base, role)} if base else {}
    names = holder.organization_names
    return Principal(
        user_id=holder.user_id,
        email=holder.email,
        roles=roles,
        organization_names={org: names[org]} if roles and org in names else {},
        api_key_id=holder.key_id,
    )


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def current_request_id() -> str | None:
    return request_id.get()

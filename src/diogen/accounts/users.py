"""Users and the roles they hold per organisation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.orm import Session

from diogen.accounts.errors import AuthenticationError, ConflictError, PermissionDenied
from diogen.accounts.models import RoleGrant, User
from diogen.accounts.passwords import dummy_hash, hash_password, verify_password
from diogen.accounts.roles import ROLES, Role
from diogen.accounts.tokens import revoke_all_refresh_tokens
from diogen.errors import InputError, NotFoundError
from diogen.ids import stable_id
from diogen.silver import Organization
from diogen.silver.base import table_of

MAX_EMAIL = 320


@dataclass(frozen=True)
class Holder:
    """Who a credential acts for: the user and their roles per organisation (and the names of
    those organisations), and for an API key, the organisation (None: every one) and the role
    the key is limited to."""

    user_id: str
    email: str
    is_superuser: bool
    roles: Mapping[str, Role]
    organization_names: Mapping[str, str] = field(default_factory=dict)
    key_id: str | None = None
    key_organization_id: str | None = None
    key_role: Role | None = None


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    local, at, domain = value.partition("@")
    if not (local and at and domain) or len(value) > MAX_EMAIL or any(c.isspace() for c in value):
        raise InputError(f"not an email address: {email!r}", email=email)
    return value


def create_user(
    session: Session, email: str, password: str, *, now: datetime, superuser: bool = False
) -> User:
    address = normalize_email(email)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise ConflictError(f"a user with email {address} exists", email=address)
    user = User(
        id=stable_id("accounts", "user", address),
        email=address,
        password_hash=hash_password(password),
        is_superuser=superuser,
        is_active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"unknown user {user_id!r}", user_id=user_id)
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    """The active user with these credentials; one message for every failure, on purpose."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    valid = verify_password(user.password_hash if user else dummy_hash(), password)
    if user is None or not valid or not user.is_active:
        raise AuthenticationError("wrong email or password, or the user is disabled")
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)


def reset_password(session: Session, user: User, password: str, *, now: datetime) -> None:
    """Set `user`'s password and end their sessions: every refresh token of theirs is revoked
    (an access token issued before lives on until it expires, within minutes)."""
    set_password(user, password)
    revoke_all_refresh_tokens(session, user.id, now=now)


def change_own_password(
    session: Session, user: User, current: str | None, password: str, *, now: datetime
) -> None:
    """A user's change of their own password, which takes the current one: a stolen access
    token alone must not be enough to take the account over."""
    if current is None:
        raise InputError("give current_password to change your own password")
    if not verify_password(user.password_hash, current):
        raise PermissionDenied("current_password is wrong")
    reset_password(session, user, password, now=now)


def disable_user(session: Session, user: User, *, now: datetime) -> None:
    """Disable `user`: refused at once, and their refresh tokens revoked, so enabling them
    again does not bring old sessions back."""
    user.is_active = False
    revoke_all_refresh_tokens(session, user.id, now=now)


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}: use one of {', '.join(ROLES)}", role=role)
    return role


def grant_role(
    session: Session, user_id: str, organization_id: str, role: str, *, now: datetime
) -> RoleGrant:
    """Give `user_id` `role` in the organisation, replacing the role they had there."""
    checked = check_role(role)
    grant = session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user_id, RoleGrant.organization_id == organization_id
        )
    )
    if grant is None:
        grant = RoleGrant(
            id=stable_id("accounts", "role_grant", user_id, organization_id),
            user_id=user_id,
            organization_id=organization_id,
            created_at=now,
        )
        session.add(grant)
    grant.role = checked
    session.flush()
    return grant


def revoke_role(session: Session, user_id: str, organization_id: str) -> None:
    result = session.execute(
        delete(RoleGrant).where(
            RoleGrant.user_id == user_id, RoleGrant.organization_id == organization_id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFoundError(
            f"user {user_id!r} has no role in organization {organization_id!r}",
            user_id=user_id,
            organization_id=organization_id,
        )


def active_user(session: Session, user_id: str) -> Holder:
    """The active user `user_id` and their roles, in one query."""
    rows = session.execute(_USER_QUERY, {"user_id": user_id}).all()
    if not rows or not rows[0].is_active:
        raise AuthenticationError("the user of this token is gone or disabled")
    return Holder(
        user_id=user_id,
        email=rows[0].email,
        is_superuser=rows[0].is_superuser,
        roles={row.granted_in: check_role(row.granted) for row in rows if row.granted_in},
        organization_names=granted_names(rows),
    )


def granted_names(rows: Sequence[Any]) -> dict[str, str]:
    """The names of the organisations of a principal query's grants (`granted_in_name`)."""
    return {row.granted_in: row.granted_in_name for row in rows if row.granted_in_name}


def _user_query() -> Select[*tuple[Any, ...]]:
    # Built once, like the API key's query: it runs on every request.
    grants, organizations = table_of(RoleGrant), table_of(Organization)
    user, grant = table_of(User).c, grants.c
    return (
        select(
            user.email,
            user.is_active,
            user.is_superuser,
            grant.organization_id.label("granted_in"),
            grant.role.label("granted"),
            organizations.c.name.label("granted_in_name"),
        )
        .outerjoin(grants, grant.user_id == user.id)
        .outerjoin(organizations, organizations.c.id == grant.organization_id)
        .where(user.id == bindparam("user_id"))
    )


_USER_QUERY = _user_query()

"""API keys for machines: `dgn_<prefix>_<secret>`, shown once, kept as a SHA-256 of the secret.

The secret has 256 random bits, so a fast hash is safe here (a slow one would cost every
request); the prefix finds the row without scanning, and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from diogen.accounts.errors import AuthenticationError
from diogen.accounts.models import ApiKey, RoleGrant, User
from diogen.accounts.users import Holder, check_role, granted_names
from diogen.errors import InputError
from diogen.ids import stable_id
from diogen.silver import Organization
from diogen.silver.base import table_of

KEY_MARK = "dgn"
# Writing last-used on every request would make each read a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)
INVALID = "invalid, expired or revoked API key"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: Session,
    user: User,
    *,
    name: str,
    organization_id: str | None,
    role: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its text, which is returned here once and never stored."""
    if expires_at is not None and expires_at <= now:
        raise InputError("expires_at must be in the future", expires_at=expires_at)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=stable_id("accounts", "api_key", prefix),
        prefix=prefix,
        secret_hash=_digest(secret),
        name=name,
        user_id=user.id,
        organization_id=organization_id,
        role=check_role(role),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, f"{KEY_MARK}_{prefix}_{secret}"


def looks_like_api_key(text: str) -> bool:
    return text.startswith(f"{KEY_MARK}_")


def authenticate_api_key(session: Session, text: str, *, now: datetime) -> Holder:
    """Who the live key `text` acts for; its last-used time brought up to date."""
    mark, _, rest = text.partition("_")
    prefix, _, secret = rest.partition("_")
    if mark != KEY_MARK or not prefix or not secret:
        raise AuthenticationError(INVALID)
    rows = _key_rows(session, prefix)
    if not rows or not hmac.compare_digest(rows[0].secret_hash, _digest(secret)):
        raise AuthenticationError(INVALID)
    key = rows[0]
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise AuthenticationError(INVALID)
    if not key.is_active:
        raise AuthenticationError(INVALID)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return Holder(
        user_id=key.user_id,
        email=key.email,
        is_superuser=key.is_superuser,
        roles={row.granted_in: check_role(row.granted) for row in rows if row.granted_in},
        organization_names=granted_names(rows),
        key_id=key.id,
        key_organization_id=key.organization_id,
        key_role=check_role(key.role),
    )


def _key_rows(session: Session, prefix: str) -> Sequence[Row[*tuple[Any, ...]]]:
    """The key of `prefix` with its user, one row per role of the user the key may use (all of
    them for a key of every organisation): one query where a request used to make three."""
    return session.execute(_KEY_QUERY, {"prefix": prefix}).all()


def _key_query() -> Select[*tuple[Any, ...]]:
    # Built once: building it and its cache key again on every request costs more than the
    # query itself takes in the database.
    users, grants, organizations = table_of(User), table_of(RoleGrant), table_of(Organization)
    key, user, grant = table_of(ApiKey).c, users.c, grants.c
    usable = or_(key.organization_id.is_(None), grant.organization_id == key.organization_id)
    return (
        select(
            key.id,
            key.secret_hash,
            key.organization_id,
            key.role,
            key.expires_at,
            key.last_used_at,
            key.revoked_at,
            user.id.label("user_id"),
            user.email,
            user.is_active,
            user.is_superuser,
            grant.organization_id.label("granted_in"),
            grant.role.label("granted"),
            organizations.c.name.label("granted_in_name"),
        )
        .join(users, user.id == key.user_id)
        .outerjoin(grants, and_(grant.user_id == user.id, usable))
        .outerjoin(organizations, organizations.c.id == grant.organization_id)
        .where(key.prefix == bindparam("prefix"))
    )


_KEY_QUERY = _key_query()


def revoke_api_key(key: ApiKey, *, now: datetime) -> None:
    if key.revoked_at is None:
        key.revoked_at = now

"""API keys for machines: `dgn_<prefix>_<secret>`, shown once, kept as a SHA-256 of the secret.

The secret has 256 random bits, so a fast hash is safe here (a slow one would cost every
request); the prefix finds the row without scanning, and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.accounts.errors import AuthenticationError
from diogen.accounts.models import ApiKey, User
from diogen.accounts.users import check_role
from diogen.errors import InputError
from diogen.ids import stable_id

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


def authenticate_api_key(session: Session, text: str, *, now: datetime) -> ApiKey:
    """The live key `text` names, its last-used time brought up to date."""
    mark, _, rest = text.partition("_")
    prefix, _, secret = rest.partition("_")
    if mark != KEY_MARK or not prefix or not secret:
        raise AuthenticationError(INVALID)
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(secret)):
        raise AuthenticationError(INVALID)
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise AuthenticationError(INVALID)
    user = session.get(User, key.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError(INVALID)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
        key.last_used_at = now
    return key


def revoke_api_key(key: ApiKey, *, now: datetime) -> None:
    if key.revoked_at is None:
        key.revoked_at = now

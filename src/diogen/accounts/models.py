"""Tables of the API's accounts: users, grants, API keys, refresh tokens, audit log, app state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from diogen.silver.base import Base, id_column, ref


class User(Base):
    """A person who signs in. `is_superuser` may do anything in every organisation."""

    __tablename__ = "app_user"
    id: Mapped[str] = id_column()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class RoleGrant(Base):
    """`user` holds `role` (viewer, maintainer, admin) in `organization`."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)
    id: Mapped[str] = id_column()
    user_id: Mapped[str] = ref("app_user.id", nullable=False, index=False)
    organization_id: Mapped[str] = ref("organization.id", nullable=False)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]


class ApiKey(Base):
    """A machine's key. Only a hash of its secret is kept; the key itself is shown once.

    A key acts for its user, limited to one organisation (None: every organisation the user
    may see) and to `role`, never beyond what the user may do at the time of the request.
    """

    __tablename__ = "api_key"
    id: Mapped[str] = id_column()
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = ref("app_user.id", nullable=False)
    organization_id: Mapped[str | None] = ref("organization.id")
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class RefreshToken(Base):
    """A refresh token, kept as a hash; each use replaces it with a new one."""

    __tablename__ = "refresh_token"
    id: Mapped[str] = id_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = ref("app_user.id", nullable=False)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One write through the API: who (user and key), what (action and target), when.

    No foreign keys: the log outlives the users, keys and rows it names.
    """

    __tablename__ = "audit_entry"
    id: Mapped[str] = id_column()
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    api_key_id: Mapped[str | None] = mapped_column(String(32))
    organization_id: Mapped[str | None] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[str | None] = mapped_column(String(255))
    request_id: Mapped[str | None] = mapped_column(String(128))
    changes: Mapped[dict[str, Any] | None]


class AppState(Base):
    """Small named values the API's processes share: the generated token-signing key and the
    data version that analytics caches are keyed on."""

    __tablename__ = "app_state"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    text_value: Mapped[str | None] = mapped_column(Text)
    int_value: Mapped[int] = mapped_column(Integer, default=0)

"""Users, roles per organisation, API keys, tokens and the audit log of the REST API.

Models live on `diogen.silver.base.Base`, so they share the schema and its migrations.
Services flush and never commit: the request (or CLI command) that calls them commits.
"""

from diogen.accounts.models import (
    ApiKey,
    AppState,
    AuditEntry,
    RefreshToken,
    RoleGrant,
    User,
)
from diogen.accounts.roles import ROLES, Role

__all__ = [
    "ROLES",
    "ApiKey",
    "AppState",
    "AuditEntry",
    "RefreshToken",
    "Role",
    "RoleGrant",
    "User",
]

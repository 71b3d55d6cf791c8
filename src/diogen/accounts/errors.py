"""Errors of signing in and permissions; the API maps them by `http_status` like every other."""

from __future__ import annotations

from diogen.errors import DiogenError, InputError


class AuthenticationError(DiogenError):
    """No valid credentials: a missing, wrong, expired or revoked password, token or key."""

    http_status = 401
    type_slug = "unauthenticated"


class PermissionDenied(DiogenError):
    """Valid credentials whose role in the organisation is too weak for the request."""

    http_status = 403
    type_slug = "forbidden"


class ConflictError(InputError):
    """The request would duplicate something that exists (a name, an email)."""

    http_status = 409
    type_slug = "conflict"

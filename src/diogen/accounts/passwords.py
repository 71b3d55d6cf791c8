"""Password hashing with argon2id (the library's defaults follow RFC 9106's recommendation)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from diogen.errors import InputError

MIN_LENGTH = 12
MAX_LENGTH = 256
_hasher = PasswordHasher()


def check_strength(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        # The password itself is never part of an error: errors are logged and shown.
        raise InputError(
            f"a password must have {MIN_LENGTH} to {MAX_LENGTH} characters",
            length=len(password),
        )


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures take the same time.
    Made on first use: an argon2 hash costs a third of a second, which every CLI command
    would otherwise pay at import."""
    return _hasher.hash("not-a-password-anyone-has")

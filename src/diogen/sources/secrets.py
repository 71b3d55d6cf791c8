"""Secrets of stored connections, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key is `DIOGEN_SECRET_KEY`: one or more Fernet keys separated by commas. The first one
encrypts; each one decrypts, so a key is rotated by putting the new key first, running
`diogen sources rotate-key` (every stored secret is encrypted again with the first key), then
dropping the old key. Without a key no secret can be stored, and saying so is an error rather
than storing it in clear.
"""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from diogen.errors import ConfigError

NO_KEY = (
    "secrets cannot be stored: DIOGEN_SECRET_KEY is not set "
    "(a Fernet key; `diogen sources new-key` prints one)"
)
BAD_KEY = (
    "DIOGEN_SECRET_KEY is not a list of Fernet keys (32 url-safe base64-encoded bytes each; "
    "`diogen sources new-key` prints one)"
)
UNREADABLE = (
    "its secrets cannot be decrypted with DIOGEN_SECRET_KEY: was the key changed? Put the new "
    "key first and keep the old one after it until `diogen sources rotate-key` has run"
)


class SecretKeyError(ConfigError):
    """No key, a malformed key, or a key that does not open what was stored."""


def new_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Seals a connection's secrets (name → value) into one token and opens it again."""

    def __init__(self, key: SecretStr | None) -> None:
        keys = [k.strip() for k in (key.get_secret_value() if key else "").split(",")]
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys if k]) if any(keys) else None
        except ValueError as exc:
            raise SecretKeyError(BAD_KEY) from exc

    @property
    def configured(self) -> bool:
        return self._fernet is not None

    def seal(self, secrets: dict[str, str]) -> str | None:
        if not secrets:
            return None
        if self._fernet is None:
            raise SecretKeyError(NO_KEY)
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def open(self, box: str | None) -> dict[str, str]:
        if not box:
            return {}
        if self._fernet is None:
            raise SecretKeyError(NO_KEY.replace("stored", "read"))
        try:
            opened = json.loads(self._fernet.decrypt(box.encode()))
        except (InvalidToken, ValueError) as exc:
            raise SecretKeyError(UNREADABLE) from exc
        return {str(k): str(v) for k, v in opened.items()}

    def rotate(self, box: str | None) -> str | None:
        """The same secrets under the first key."""
        if not box:
            return box
        if self._fernet is None:
            raise SecretKeyError(NO_KEY)
        try:
            return self._fernet.rotate(box.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(UNREADABLE) from exc

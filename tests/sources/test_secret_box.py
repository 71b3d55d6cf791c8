"""The Fernet box of connection secrets: sealed values are not readable without the key, a
wrong or malformed key is one clear line, and rotation moves secrets to the first key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from diogen.sources.secrets import SecretBox, SecretKeyError


def test_seal_open_and_rotate() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox(SecretStr(old)).seal({"token": "s3cret-value"})
    assert sealed is not None and "s3cret-value" not in sealed

    both = SecretBox(SecretStr(f"{new}, {old}"))
    assert both.open(sealed) == {"token": "s3cret-value"}
    rotated = both.rotate(sealed)
    assert SecretBox(SecretStr(new)).open(rotated) == {"token": "s3cret-value"}
    with pytest.raises(SecretKeyError, match="cannot be decrypted with DIOGEN_SECRET_KEY"):
        SecretBox(SecretStr(new)).open(sealed)


def test_no_key_and_bad_key_are_clear() -> None:
    assert SecretBox(None).seal({}) is None  # nothing to keep: no key needed
    with pytest.raises(
        SecretKeyError, match=r"^secrets cannot be stored: DIOGEN_SECRET_KEY is not set"
    ):
        SecretBox(None).seal({"token": "x"})
    with pytest.raises(SecretKeyError, match="is not a list of Fernet keys"):
        SecretBox(SecretStr("not-a-key"))

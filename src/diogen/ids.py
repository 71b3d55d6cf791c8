"""Deterministic ids: the same natural keys always give the same id, on every machine."""

from __future__ import annotations

from hashlib import blake2b

ID_LENGTH = 32


def stable_id(source: str, entity: str, *natural_keys: object) -> str:
    """A 32-hex-character id for `entity` from `source` identified by `natural_keys`.

    Parts are joined with a unit separator so that ("a b", "c") and ("a", "b c") differ.
    """
    text = "\x1f".join([source, entity, *(str(key) for key in natural_keys)])
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()

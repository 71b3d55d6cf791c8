"""Deterministic ids: the same natural keys always give the same id, on every machine."""

from __future__ import annotations

from collections.abc import Callable
from hashlib import blake2b

ID_LENGTH = 32
SEPARATOR = "\x1f"


def stable_id(source: str, entity: str, *natural_keys: object) -> str:
    """A 32-hex-character id for `entity` from `source` identified by `natural_keys`.

    Parts are joined with a unit separator so that ("a b", "c") and ("a", "b c") differ.
    """
    text = SEPARATOR.join([source, entity, *(str(key) for key in natural_keys)])
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def id_maker(source: str, entity: str, *leading_keys: object) -> Callable[..., str]:
    """`stable_id(source, entity, *leading_keys, ...)` for many ids at once: the hash of the
    shared prefix is computed once and copied, which matters for hundreds of thousands of rows."""
    text = SEPARATOR.join([source, entity, *(str(key) for key in leading_keys)])
    prefix = blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)

    def make(*natural_keys: object) -> str:
        if not natural_keys:
            return prefix.hexdigest()
        digest = prefix.copy()
        tail = SEPARATOR + SEPARATOR.join(str(key) for key in natural_keys)
        digest.update(tail.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    return make

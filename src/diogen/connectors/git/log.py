"""Parse `git log -z --numstat` output, streamed, into one raw payload per commit.

Everything is NUL-separated, and NUL is the one byte no git name, message or path can hold,
so the stream is read as tokens, positionally: a commit is its 13 header tokens (sha, parents,
author and committer with their .mailmap forms and dates, message), then its numstat entries.
An entry is "added\\tdeleted\\tpath" (the first one after a "\\n"), or for a rename
"added\\tdeleted\\t" followed by the old and the new path as two more tokens; binary files
show "-" for both counts. The first token that is not an entry starts the next commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from diogen.errors import SourceError

HEADER = ("%H", "%P", "%an", "%ae", "%aN", "%aE", "%ad", "%cn", "%ce", "%cN", "%cE", "%cd", "%B")
# Raw (%an %ae) and .mailmap-resolved (%aN %aE) identities, dates as "<unix> <+hhmm>".
LOG_FORMAT = "--format=" + "%x00".join(HEADER)
# Messages recorded in another encoding are re-encoded; the repository config must not decide.
LOG_ARGS = ("log", "-z", "--numstat", "--date=raw", "--encoding=UTF-8", LOG_FORMAT)
ENTRY = re.compile(r"\n?(\d+|-)\t(\d+|-)\t(.*)", re.S)
SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def tokens(chunks: Iterable[bytes]) -> Iterator[str]:
    """NUL-separated tokens of a byte stream, decoded as UTF-8 (a NUL is never inside a
    multi-byte character, so cutting there is safe)."""
    pending = b""
    for chunk in chunks:
        data = pending + chunk
        cut = data.rfind(b"\x00")
        if cut < 0:
            pending = data
            continue
        pending = data[cut + 1 :]
        yield from data[:cut].decode("utf-8", "replace").split("\x00")
    if pending:
        yield pending.decode("utf-8", "replace")


def parse_log(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Commit payloads from a stream of `git log` output chunks, in the order git wrote them."""
    stream = tokens(chunks)
    token = next(stream, None)
    while token is not None:
        if not SHA.fullmatch(token):
            raise SourceError(f"unexpected git log output near {token[:60]!r}")
        header = [token, *(next(stream) for _ in range(len(HEADER) - 1))]
        files: list[list[Any]] = []
        token = next(stream, None)
        while token is not None and (entry := ENTRY.fullmatch(token)):
            added, deleted, path = entry.groups()
            old_path = None
            if not path:
                old_path, path = next(stream), next(stream)
            binary = added == "-"
            files.append(
                [path, old_path, None if binary else int(added), None if binary else int(deleted)]
            )
            token = next(stream, None)
        yield _payload(header, files)


def _payload(header: list[str], files: list[list[Any]]) -> dict[str, Any]:
    sha, parents, an, ae, amn, ame, adate, cn, ce, cmn, cme, cdate, message = header
    return {
        "sha": sha,
        "parents": parents.split(),
        "author": _person(an, ae, amn, ame, adate),
        "committer": _person(cn, ce, cmn, cme, cdate),
        "message": message,
        "files": files,
    }


def _person(
    name: str, email: str, mapped_name: str, mapped_email: str, date: str
) -> dict[str, Any]:
    seconds, _, offset = date.partition(" ")
    return {
        "name": name,
        "email": email,
        "mailmap_name": mapped_name,
        "mailmap_email": mapped_email,
        "time": int(seconds),
        "offset": offset_minutes(offset),
    }


@cache  # a history has a handful of distinct offsets and two per commit
def offset_minutes(offset: str) -> int:
    """'+0130' → 90, '-0800' → -480."""
    sign = -1 if offset.startswith("-") else 1
    digits = offset.lstrip("+-").rjust(4, "0")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4]))

"""Parse `git log -z --numstat` output, streamed, into one raw payload per commit.

Each record starts with \\x1e; header fields are separated by \\x1f; the message is closed by
\\x1f; then come NUL-separated numstat entries: "added\\tdeleted\\tpath", or for a rename
"added\\tdeleted\\t" followed by the old and the new path as two more entries. Binary files show
"-" for both counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

RECORD = b"\x1e"
FIELD = "\x1f"
# Raw (%an %ae) and .mailmap-resolved (%aN %aE) identities, dates as "<unix> <+hhmm>".
LOG_FORMAT = (
    "--format=%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%aN%x1f%aE%x1f%ad"
    "%x1f%cn%x1f%ce%x1f%cN%x1f%cE%x1f%cd%x1f%B%x1f"
)
# Messages recorded in another encoding are re-encoded; the repository config must not decide.
LOG_ARGS = ("log", "-z", "--numstat", "--date=raw", "--encoding=UTF-8", LOG_FORMAT)
HEADER_FIELDS = 12


def parse_log(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Commit payloads from a stream of `git log` output chunks, in the order git wrote them."""
    pending = b""
    for chunk in chunks:
        records = (pending + chunk).split(RECORD)
        pending = records.pop()
        for record in records:
            if record:
                yield parse_record(record.decode("utf-8", "replace"))
    if pending:
        yield parse_record(pending.decode("utf-8", "replace"))


def parse_record(text: str) -> dict[str, Any]:
    fields = text.split(FIELD, HEADER_FIELDS)
    sha, parents, an, ae, amn, ame, adate, cn, ce, cmn, cme, cdate, rest = fields
    message, _, numstat = rest.rpartition(FIELD)
    return {
        "sha": sha,
        "parents": parents.split(),
        "author": _person(an, ae, amn, ame, adate),
        "committer": _person(cn, ce, cmn, cme, cdate),
        "message": message,
        "files": parse_numstat(numstat),
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


def offset_minutes(offset: str) -> int:
    """'+0130' → 90, '-0800' → -480."""
    sign = -1 if offset.startswith("-") else 1
    digits = offset.lstrip("+-").rjust(4, "0")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4]))


def parse_numstat(text: str) -> list[list[Any]]:
    """[[path, old_path or None, additions or None (binary), deletions or None], ...]."""
    entries = text.lstrip("\x00\n").split("\x00")
    files: list[list[Any]] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if not entry:
            continue
        added, deleted, path = entry.split("\t", 2)
        old_path = None
        if not path:
            old_path, path = entries[index], entries[index + 1]
            index += 2
        binary = added == "-"
        files.append(
            [path, old_path, None if binary else int(added), None if binary else int(deleted)]
        )
    return files

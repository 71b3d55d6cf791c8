"""Commits read from git and made ready to store, in chunks: what a reader process does.

A chunk holds, for each commit in the order git printed them, its bronze record (sha,
payload hash, payload JSON) and its git_commit and commit_file values (`rows.CommitValues`).
`main` does it as a reader process (started by `commits.ReaderProcess`): a JSON header line
and then the shas on stdin, pickled chunks on stdout, ending with ("done", None) or ("error",
message). The imports stay light (no SQLAlchemy) so that a reader starts in a
few hundredths of a second.
"""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any

from diogen.connectors.git.log import LOG_ARGS, parse_log
from diogen.connectors.git.plumbing import stream_git
from diogen.connectors.git.rows import CommitValues, Values
from diogen.errors import SourceError

CHUNK_SIZE = 500

Record = tuple[str, str, str]  # sha, payload hash, payload JSON


# What a malformed payload raises when made into values (as the sync's normalisers signal it).
REJECTIONS = (KeyError, ValueError, TypeError, IndexError)


@dataclass(frozen=True, slots=True)
class Chunk:
    records: list[Record]
    commits: list[Values]
    files: list[Values]
    rejected: list[tuple[str, str]]  # sha, why its values could not be made

    @classmethod
    def empty(cls) -> Chunk:
        return cls([], [], [], [])


@dataclass(frozen=True, slots=True)
class ReaderSpec:
    """What a reader needs to know besides the shas: JSON, for a reader process's stdin."""

    repo: str
    repository_id: str
    commit_key: tuple[str, ...]
    file_key: tuple[str, ...]
    boundary: tuple[str, ...]  # a shallow clone's boundary commits

    def header(self) -> str:
        return json.dumps(
            [self.repo, self.repository_id, self.commit_key, self.file_key, self.boundary]
        )

    @classmethod
    def from_header(cls, line: str) -> ReaderSpec:
        repo, repository_id, commit_key, file_key, boundary = json.loads(line)
        return cls(repo, repository_id, tuple(commit_key), tuple(file_key), tuple(boundary))


def payload_text(payload: dict[str, Any]) -> tuple[str, str]:
    """The bronze payload JSON and its hash, exactly as `ingest.bronze.raw_row` makes them
    (compact, in the payload's own key order), so that a commit has one bronze id whichever
    way it was read."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return text, blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


def prepare(spec: ReaderSpec, shas: list[str]) -> Iterator[Chunk]:
    """Read `shas` with one `git log` and yield them in chunks of CHUNK_SIZE commits."""
    values = CommitValues(spec.repository_id, spec.commit_key, spec.file_key)
    boundary = set(spec.boundary)
    output = stream_git(Path(spec.repo), [*LOG_ARGS, "--no-walk=unsorted", "--stdin"], shas)
    chunk = Chunk.empty()
    for payload in parse_log(output):
        sha = payload["sha"]
        if sha in boundary:
            payload["shallow_boundary"] = True
        text, digest = payload_text(payload)
        chunk.records.append((sha, digest, text))
        try:
            commit, files = values(payload)
        except REJECTIONS as exc:
            chunk.rejected.append((sha, f"{exc.__class__.__name__}: {exc}"))
        else:
            chunk.commits.append(commit)
            chunk.files.extend(files)
        if len(chunk.records) >= CHUNK_SIZE:
            yield chunk
            chunk = Chunk.empty()
    if chunk.records:
        yield chunk


def error_message(exc: Exception) -> str:
    """git's own failures are one line already; anything else says what it is."""
    if isinstance(exc, SourceError):
        return str(exc)
    return f"git reader failed: {exc.__class__.__name__}: {exc}"


def main() -> None:
    """A reader process: see the module's docstring."""
    spec = ReaderSpec.from_header(sys.stdin.readline())
    shas = sys.stdin.read().split()
    out = sys.stdout.buffer
    try:
        try:
            for chunk in prepare(spec, shas):
                pickle.dump(("chunk", chunk), out, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # handed to the sync, which raises it as a SourceError
            pickle.dump(("error", error_message(exc)), out)
        else:
            pickle.dump(("done", None), out)
        out.flush()
    except (KeyboardInterrupt, BrokenPipeError):
        # Interrupted with the sync (Ctrl-C reaches the whole process group), or the sync
        # has gone: it reports what happened, not us.
        sys.exit(1)

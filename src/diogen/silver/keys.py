"""Id conventions for silver rows that several sources must agree on.

A commit is the same row whether it came from a local clone or a provider's API, so its id
depends only on its repository and sha.
"""

from __future__ import annotations

from collections.abc import Callable

from diogen.ids import id_maker, stable_id

# The leading parts of commit and commit-file ids, for whoever makes them in bulk.
COMMIT_KEY = ("silver", "commit")
COMMIT_FILE_KEY = ("silver", "commit_file")
_commit_id = id_maker(*COMMIT_KEY)
_commit_file_id = id_maker(*COMMIT_FILE_KEY)


def repository_id(provider: str, name: str) -> str:
    return stable_id(provider, "repository", name)


def commit_id(repository: str, sha: str) -> str:
    return _commit_id(repository, sha)


def commit_file_id(commit: str, path: str) -> str:
    return _commit_file_id(commit, path)


def commit_file_ids(commit: str) -> Callable[[str], str]:
    """`commit_file_id(commit, path)` for the files of one commit, the commit hashed once."""
    return id_maker(*COMMIT_FILE_KEY, commit)


def identity_id(provider: str, key: str) -> str:
    return stable_id(provider, "identity", key)


def person_id(canonical_key: str) -> str:
    return stable_id("silver", "person", canonical_key)


def ref_id(repository: str, kind: str, name: str) -> str:
    return stable_id("silver", "git_ref", repository, kind, name)

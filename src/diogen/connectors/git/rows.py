"""A commit payload → its git_commit and commit_file values, as tuples in column order.

One function for both ways a commit reaches silver: read by a reader process during a sync
(which hands the tuples to the writer as they are) and normalised from bronze by a replay or
a processor (which makes rows of them). This module imports nothing heavy: the reader
processes start from it, and importing SQLAlchemy would cost each of them a third of a second.
The identity ids are not made here: the values hold each side's account instead
(`ACCOUNT_SLOTS`), and the caller, which resolves identities once per account, puts them in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from diogen.ids import id_maker

COMMIT_COLUMNS = (
    "id",
    "repository_id",
    "sha",
    "parents",
    "author_identity_id",
    "committer_identity_id",
    "author_name",
    "author_email",
    "committer_name",
    "committer_email",
    "authored_at",
    "author_tz_offset",
    "committed_at",
    "committer_tz_offset",
    "subject",
    "message",
    "additions",
    "deletions",
    "files_changed",
    "is_merge",
    "reachable",
)
FILE_COLUMNS = ("id", "commit_id", "path", "old_path", "additions", "deletions", "is_binary")
# Where the author's and the committer's account stand until the identity ids replace them.
ACCOUNT_SLOTS = (4, 5)

AccountKey = tuple[str, str, str, str]  # name, email, .mailmap name, .mailmap email
Values = tuple[Any, ...]


class CommitValues:
    """Commit payloads of one repository → (commit values, file values).

    `commit_key` and `file_key` are the leading parts of the commit and commit-file ids
    (`silver.keys`), passed in so that a reader process need not import the silver package.
    """

    def __init__(
        self, repository_id: str, commit_key: tuple[str, ...], file_key: tuple[str, ...]
    ) -> None:
        self.repository_id = repository_id
        self._commit_id = id_maker(*commit_key, repository_id)
        self._file_key = file_key
        self._accounts: dict[AccountKey, AccountKey] = {}

    def __call__(self, payload: dict[str, Any]) -> tuple[Values, list[Values]]:
        author, committer, message = payload["author"], payload["committer"], payload["message"]
        parents: list[str] = payload["parents"]
        cid = self._commit_id(payload["sha"])
        is_merge = len(parents) > 1
        files = None if is_merge or payload.get("shallow_boundary") else payload["files"]
        commit = (
            cid,
            self.repository_id,
            payload["sha"],
            " ".join(parents),
            self.account(author),
            self.account(committer),
            author["name"],
            author["email"],
            committer["name"],
            committer["email"],
            datetime.fromtimestamp(author["time"], UTC),
            author["offset"],
            datetime.fromtimestamp(committer["time"], UTC),
            committer["offset"],
            message.split("\n", 1)[0],
            message,
            None if files is None else sum(f[2] or 0 for f in files),
            None if files is None else sum(f[3] or 0 for f in files),
            None if files is None else len(files),
            is_merge,
            True,
        )
        return commit, self._files(cid, files) if files else []

    def account(self, person: dict[str, Any]) -> AccountKey:
        """The account of an author or committer; one tuple per distinct account, so that
        pickling a chunk of commits writes each account once."""
        key = (person["name"], person["email"], person["mailmap_name"], person["mailmap_email"])
        return self._accounts.setdefault(key, key)

    def _files(self, cid: str, files: list[list[Any]]) -> list[Values]:
        file_id: Callable[[str], str] = id_maker(*self._file_key, cid)
        return [
            (file_id(path), cid, path, old_path, added or 0, deleted or 0, added is None)
            for path, old_path, added, deleted in files
        ]

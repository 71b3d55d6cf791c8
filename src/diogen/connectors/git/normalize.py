"""Raw git payloads → silver rows: repository, refs, commits with files, people and identities."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.silver import Commit, CommitFile, GitRef, Identity, Person, Repository
from diogen.silver.base import table_of
from diogen.silver.identities import Account, git_identity_rows
from diogen.silver.keys import commit_file_ids, commit_id, ref_id

PERSON = table_of(Person)
IDENTITY = table_of(Identity)
COMMIT = table_of(Commit)
COMMIT_FILE = table_of(CommitFile)
# An identity's person follows .mailmap changes; a person's first-seen name stays.
IDENTITY_UPDATE = ("person_id", "name", "is_bot")


def normalize_repository(repository_id: str, payload: dict[str, Any]) -> Iterator[SilverRow]:
    yield SilverRow(
        table_of(Repository),
        {
            "id": repository_id,
            "source": "git",
            "external_id": payload["name"],
            "url": None,
            "organization_id": None,
            "owning_team_id": None,
            "provider": "git",
            "name": payload["name"],
            "default_branch": payload["default_branch"],
            "location": payload["location"],
        },
        # Organisation and owning team are a person's to set (through the API): keep them.
        update=("source", "external_id", "url", "provider", "name", "default_branch", "location"),
    )


def normalize_ref(repository_id: str, payload: dict[str, Any]) -> Iterator[SilverRow]:
    tagger_date = payload["tagger_date"]
    yield SilverRow(
        table_of(GitRef),
        {
            "id": ref_id(repository_id, payload["kind"], payload["name"]),
            "repository_id": repository_id,
            "name": payload["name"],
            "kind": payload["kind"],
            "commit_sha": payload["commit_sha"],
            "tag_sha": payload["tag_sha"],
            "tagger_name": payload["tagger_name"],
            "tagger_email": payload["tagger_email"],
            "tagged_at": _raw_date(tagger_date) if tagger_date else None,
        },
    )


class CommitNormalizer:
    """Commit payloads → person, identity, commit and file rows of one repository.

    A history has few authors and many commits, so each account is resolved once.
    """

    def __init__(self, repository_id: str, bot: re.Pattern[str]) -> None:
        self.repository_id = repository_id
        self.bot = bot
        self._accounts: dict[tuple[str, ...], tuple[SilverRow, SilverRow]] = {}

    def __call__(self, payload: dict[str, Any]) -> Iterator[SilverRow]:
        author, committer = payload["author"], payload["committer"]
        author_rows = self._identity(author)
        committer_rows = self._identity(committer)
        yield from author_rows
        yield from committer_rows
        cid = commit_id(self.repository_id, payload["sha"])
        is_merge = len(payload["parents"]) > 1
        files = None if is_merge or payload.get("shallow_boundary") else payload["files"]
        yield SilverRow(
            COMMIT, self._commit(cid, payload, author_rows[1], committer_rows[1], files)
        )
        if not files:
            return
        file_id = commit_file_ids(cid)
        for path, old_path, added, deleted in files:
            yield SilverRow(
                COMMIT_FILE,
                {
                    "id": file_id(path),
                    "commit_id": cid,
                    "path": path,
                    "old_path": old_path,
                    "additions": added or 0,
                    "deletions": deleted or 0,
                    "is_binary": added is None,
                },
            )

    def _identity(self, person: dict[str, Any]) -> tuple[SilverRow, SilverRow]:
        key = (person["name"], person["email"], person["mailmap_name"], person["mailmap_email"])
        rows = self._accounts.get(key)
        if rows is None:
            person_row, identity_row = git_identity_rows(Account(*key), self.bot)
            rows = (
                SilverRow(PERSON, person_row, ()),
                SilverRow(IDENTITY, identity_row, IDENTITY_UPDATE, "person_locked"),
            )
            self._accounts[key] = rows
        return rows

    def _commit(
        self,
        cid: str,
        payload: dict[str, Any],
        author_identity: SilverRow,
        committer_identity: SilverRow,
        files: list[list[Any]] | None,
    ) -> dict[str, Any]:
        """The commit row; stats are None where git shows none (merges, shallow boundary)."""
        author, committer, message = payload["author"], payload["committer"], payload["message"]
        return {
            "id": cid,
            "repository_id": self.repository_id,
            "sha": payload["sha"],
            "parents": " ".join(payload["parents"]),
            "author_identity_id": author_identity.values["id"],
            "committer_identity_id": committer_identity.values["id"],
            "author_name": author["name"],
            "author_email": author["email"],
            "committer_name": committer["name"],
            "committer_email": committer["email"],
            "authored_at": datetime.fromtimestamp(author["time"], UTC),
            "author_tz_offset": author["offset"],
            "committed_at": datetime.fromtimestamp(committer["time"], UTC),
            "committer_tz_offset": committer["offset"],
            "subject": message.split("\n", 1)[0],
            "message": message,
            "additions": None if files is None else sum(f[2] or 0 for f in files),
            "deletions": None if files is None else sum(f[3] or 0 for f in files),
            "files_changed": None if files is None else len(files),
            "is_merge": len(payload["parents"]) > 1,
            "reachable": True,
        }


def _raw_date(raw: str) -> datetime:
    """'1700000000 +0100' → aware UTC datetime."""
    return datetime.fromtimestamp(int(raw.split(" ", 1)[0]), UTC)

"""Raw git payloads → silver rows: repository, refs, commits with files, people and identities."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.connectors.git.rows import (
    ACCOUNT_SLOTS,
    COMMIT_COLUMNS,
    FILE_COLUMNS,
    AccountKey,
    CommitValues,
)
from diogen.silver import Commit, CommitFile, GitRef, Identity, Person, Repository
from diogen.silver.base import table_of
from diogen.silver.identities import Account, git_identity_rows
from diogen.silver.keys import COMMIT_FILE_KEY, COMMIT_KEY, ref_id

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
        self.values = CommitValues(repository_id, COMMIT_KEY, COMMIT_FILE_KEY)
        self._accounts: dict[AccountKey, tuple[SilverRow, SilverRow]] = {}

    def __call__(self, payload: dict[str, Any]) -> Iterator[SilverRow]:
        commit, files = self.values(payload)
        author_rows = self.identity(commit[ACCOUNT_SLOTS[0]])
        committer_rows = self.identity(commit[ACCOUNT_SLOTS[1]])
        yield from author_rows
        yield from committer_rows
        row = dict(zip(COMMIT_COLUMNS, commit, strict=True))
        row["author_identity_id"] = author_rows[1].values["id"]
        row["committer_identity_id"] = committer_rows[1].values["id"]
        yield SilverRow(COMMIT, row)
        for values in files:
            yield SilverRow(COMMIT_FILE, dict(zip(FILE_COLUMNS, values, strict=True)))

    def identity(self, account: AccountKey) -> tuple[SilverRow, SilverRow]:
        """The person and identity rows of an account, made once per account."""
        rows = self._accounts.get(account)
        if rows is None:
            person_row, identity_row = git_identity_rows(Account(*account), self.bot)
            rows = (
                SilverRow(PERSON, person_row, ()),
                SilverRow(IDENTITY, identity_row, IDENTITY_UPDATE, "person_locked"),
            )
            self._accounts[account] = rows
        return rows


def _raw_date(raw: str) -> datetime:
    """'1700000000 +0100' → aware UTC datetime."""
    return datetime.fromtimestamp(int(raw.split(" ", 1)[0]), UTC)

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
from diogen.silver.keys import commit_file_id, commit_id, ref_id

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


def normalize_commit(
    repository_id: str, payload: dict[str, Any], bot: re.Pattern[str]
) -> Iterator[SilverRow]:
    author, committer = payload["author"], payload["committer"]
    author_person, author_identity = git_identity_rows(_account(author), bot)
    committer_person, committer_identity = git_identity_rows(_account(committer), bot)
    yield SilverRow(PERSON, author_person, ())
    yield SilverRow(PERSON, committer_person, ())
    yield SilverRow(IDENTITY, author_identity, IDENTITY_UPDATE, "person_locked")
    yield SilverRow(IDENTITY, committer_identity, IDENTITY_UPDATE, "person_locked")
    cid = commit_id(repository_id, payload["sha"])
    files = payload["files"]
    is_merge = len(payload["parents"]) > 1
    has_stats = not is_merge and not payload.get("shallow_boundary")
    message = payload["message"]
    yield SilverRow(
        COMMIT,
        {
            "id": cid,
            "repository_id": repository_id,
            "sha": payload["sha"],
            "parents": " ".join(payload["parents"]),
            "author_identity_id": author_identity["id"],
            "committer_identity_id": committer_identity["id"],
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
            "additions": sum(f[2] or 0 for f in files) if has_stats else None,
            "deletions": sum(f[3] or 0 for f in files) if has_stats else None,
            "files_changed": len(files) if has_stats else None,
            "is_merge": is_merge,
            "reachable": True,
        },
    )
    if has_stats:
        for path, old_path, added, deleted in files:
            yield SilverRow(
                COMMIT_FILE,
                {
                    "id": commit_file_id(cid, path),
                    "commit_id": cid,
                    "path": path,
                    "old_path": old_path,
                    "additions": added or 0,
                    "deletions": deleted or 0,
                    "is_binary": added is None,
                },
            )


def _account(person: dict[str, Any]) -> Account:
    return Account(person["name"], person["email"], person["mailmap_name"], person["mailmap_email"])


def _raw_date(raw: str) -> datetime:
    """'1700000000 +0100' → aware UTC datetime."""
    return datetime.fromtimestamp(int(raw.split(" ", 1)[0]), UTC)

"""The git connector: config, fetch (what is new since the last sync) and normalize.

The cursor of the `commits` stream records what the last complete sync saw: the commit shas
the refs pointed at, the refs themselves, the release pattern, the .mailmap in force and the
shallow boundary. Everything reachable from today's refs and not from those tips is new;
whatever those tips reached that today's refs do not is history that was rewritten away. A
changed .mailmap or shallow boundary changes what old commits mean, so all are read again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from diogen.config import BOT_PATTERN, RELEASE_PATTERN
from diogen.connectors.base import (
    Checkpoint,
    FetchStats,
    Prepared,
    RawItem,
    RowSet,
    SilverRow,
    StoredKeys,
)
from diogen.connectors.git import repo as gitrepo
from diogen.connectors.git.commits import prepared_commits
from diogen.connectors.git.normalize import (
    COMMIT,
    COMMIT_FILE,
    CommitNormalizer,
    normalize_ref,
    normalize_repository,
)
from diogen.connectors.git.prepare import Chunk, ReaderSpec
from diogen.connectors.git.rows import ACCOUNT_SLOTS, COMMIT_COLUMNS, FILE_COLUMNS, AccountKey
from diogen.silver import history
from diogen.silver.deployments import sync_release_deployments
from diogen.silver.keys import COMMIT_FILE_KEY, COMMIT_KEY, ref_id, repository_id


class GitConfig(BaseModel):
    """A git source: a local path or a URL to clone, and how to read releases from its tags."""

    location: str
    name: str | None = None
    release_pattern: str = RELEASE_PATTERN
    bot_pattern: str = BOT_PATTERN
    jobs: int = Field(default=2, ge=1)
    cache_dir: Path = Path(".diogen-cache")


class GitConnector:
    # Records per transaction (the runner's default is 2,000). A commit is small, but its ids
    # are hashes: each transaction rewrites nearly every page of the random-key indexes, so a
    # first sync of 30,000 commits in batches of 6,000 writes 364 instead of 563 MB and its
    # writer thread spends 0.4 s less. Memory is bounded by the batch, not by the history.
    batch_size = 6000

    def __init__(self, config: GitConfig) -> None:
        self.config = config
        self.name = config.name or gitrepo.default_name(config.location)
        self.source = f"git:{self.name}"
        self.repository_id = repository_id("git", self.name)
        self.stats = FetchStats()
        self._commit_rows = CommitNormalizer(
            self.repository_id, re.compile(config.bot_pattern, re.I)
        )
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        """The repository on disk; a URL is cloned (or fetched) into the cache on first use."""
        if self._path is None:
            location = self.config.location
            if gitrepo.is_url(location):
                self._path = gitrepo.mirror(location, self.config.cache_dir)
            else:
                self._path = gitrepo.open_local(Path(location).expanduser())
        return self._path

    def fetch(
        self, cursors: Mapping[str, dict[str, Any]], stored: StoredKeys
    ) -> Iterator[RawItem | Prepared | Checkpoint]:
        refs = gitrepo.list_refs(self.path)
        boundary = gitrepo.shallow_boundary(self.path)
        cursor = dict(cursors.get("commits") or {})
        state = self._state(refs, boundary)
        if cursor == state:
            return
        yield RawItem("repository", self.name, self._repository_payload())
        for ref in refs:
            yield RawItem("refs", f"{ref.kind}:{ref.name}", _ref_payload(ref))
        reread = bool(cursor) and any(cursor.get(k) != state[k] for k in ("mailmap", "shallow"))
        old = [] if reread else cursor.get("tips", [])
        present = gitrepo.existing_objects(self.path, old)
        new = gitrepo.rev_list(self.path, state["tips"], sorted(present))
        # Commits an interrupted run already kept need not be read again.
        kept = set() if reread else stored("commits", new)
        yield from self._commits([sha for sha in new if sha not in kept], boundary)
        lost = self._lost_history(old, present, state["tips"])
        reached = len(new) if not old else None
        finish = partial(self._finish, refs=refs, lost=lost, reached=reached)
        yield Checkpoint({"commits": state}, finish=finish)

    def normalize(self, item: RawItem) -> Iterable[SilverRow]:
        if item.stream == "commits":
            return self._commit_rows(item.payload)
        if item.stream == "refs":
            return normalize_ref(self.repository_id, item.payload)
        return normalize_repository(self.repository_id, item.payload)

    def _state(self, refs: list[gitrepo.Ref], boundary: set[str]) -> dict[str, Any]:
        return {
            "tips": sorted({ref.commit_sha for ref in refs}),
            "refs": sorted(f"{r.kind}:{r.name}:{r.commit_sha}:{r.tag_sha or ''}" for r in refs),
            "release_pattern": self.config.release_pattern,
            "mailmap": gitrepo.mailmap_digest(self.path),
            "shallow": sorted(boundary),
        }

    def _commits(self, shas: list[str], boundary: set[str]) -> Iterator[Prepared]:
        self.stats.add("commits_to_read", len(shas))
        if boundary:
            self.stats.add("shallow_boundary_commits", len(boundary))
        spec = ReaderSpec(
            str(self.path), self.repository_id, COMMIT_KEY, COMMIT_FILE_KEY, tuple(sorted(boundary))
        )
        for chunk in prepared_commits(spec, shas, self.config.jobs):
            self.stats.add("commits", len(chunk.records))
            yield self._prepared(chunk)

    def _prepared(self, chunk: Chunk) -> Prepared:
        """A chunk's rows for the runner: identity ids in place of accounts, and the person
        and identity rows of the chunk's accounts (in the order of their last commit, as
        normalising commit by commit would write them)."""
        identity = self._commit_rows.identity
        accounts: dict[AccountKey, None] = {}
        commits = []
        author_slot, committer_slot = ACCOUNT_SLOTS
        for values in chunk.commits:
            author, committer = values[author_slot], values[committer_slot]
            for account in (author, committer):
                accounts.pop(account, None)
                accounts[account] = None
            commits.append(
                (
                    *values[:author_slot],
                    identity(author)[1].values["id"],
                    identity(committer)[1].values["id"],
                    *values[committer_slot + 1 :],
                )
            )
        people = [row for account in accounts for row in identity(account)]
        rows = [
            RowSet(COMMIT, COMMIT_COLUMNS, commits),
            RowSet(COMMIT_FILE, FILE_COLUMNS, chunk.files),
        ]
        return Prepared("commits", chunk.records, rows, people, chunk.rejected)

    def _lost_history(self, old: list[str], present: set[str], tips: list[str]) -> list[str] | None:
        """Commits the previous tips reached that today's refs do not; None when that cannot
        be asked of git, and the stored commits are to be walked from today's tips instead:
        with no complete previous sync (an interrupted first run may have kept commits since
        dropped) or with an old tip pruned from the object database."""
        if not old or len(present) < len(old):
            return None
        return gitrepo.rev_list(self.path, sorted(present), tips)

    def _finish(
        self,
        session: Session,
        *,
        refs: list[gitrepo.Ref],
        lost: list[str] | None,
        reached: int | None,
    ) -> dict[str, Any]:
        """Refs, reachability and releases once the commits are stored. `reached` is how
        many commits today's tips reach, when all of them were read or kept by this sync:
        if the repository holds no more than those, all it holds is reachable."""
        current = {ref_id(self.repository_id, ref.kind, ref.name) for ref in refs}
        repo = self.repository_id
        summary: dict[str, Any] = {
            "refs_removed": history.remove_stale_refs(session, repo, current)
        }
        if lost is None and reached == history.stored_commits(session, repo):
            summary["unreachable"] = 0
        elif lost is None:
            tips = sorted({ref.commit_sha for ref in refs})
            summary["unreachable"] = history.mark_reachable_from(session, repo, tips)
        else:
            summary["unreachable"] = history.mark_unreachable(session, repo, lost)
        summary.update(sync_release_deployments(session, repo, self.config.release_pattern))
        return summary

    def _repository_payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "location": self.config.location,
            "path": str(self.path),
            "default_branch": gitrepo.default_branch(self.path),
        }


def _ref_payload(ref: gitrepo.Ref) -> dict[str, Any]:
    return {
        "name": ref.name,
        "kind": ref.kind,
        "commit_sha": ref.commit_sha,
        "tag_sha": ref.tag_sha,
        "tagger_name": ref.tagger_name,
        "tagger_email": ref.tagger_email,
        "tagger_date": ref.tagger_date,
    }

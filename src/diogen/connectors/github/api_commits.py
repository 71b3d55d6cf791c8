"""Commits of a repository's default branch through the API, for when there is no clone
(`--commits api`, or a clone that failed): GraphQL `history`, 100 commits a request, with
their parents, author and committer, message and line counts (no per-file counts: GitHub's
GraphQL has none; a later clone sync adds them, to the same rows).

A conditional REST request on the branch's newest commit (a 304 costs nothing) tells whether
the branch moved. A walk reads the history from the branch's head down to what is stored
already: it keeps the *frontier* (parents named by the commits it read and not yet read), and
a stored commit's own ancestors are stored, so the walk ends when the frontier is empty. The
walk's head, page cursor and frontier are checkpointed after each page: a killed sync resumes
the very walk (by the head's oid, so the pages do not shift), and a walk for a newer head
starts only once it is done, so what is stored always holds its ancestors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from diogen.connectors.base import Checkpoint, FetchStats, RawItem, SilverRow, StoredKeys
from diogen.connectors.git.normalize import COMMIT, CommitNormalizer
from diogen.connectors.github.client import GitHubApi
from diogen.connectors.github.queries import COMMIT_HISTORY
from diogen.connectors.http import HttpError

STREAM = "api_commits"
# Where the clone path keeps its commits: one already there needs no API read.
CLONE_STREAM = "commits"


@dataclass
class ApiCommits:
    api: GitHubApi
    full_name: str
    branch: str
    cursor: dict[str, Any]
    stored: StoredKeys
    stats: FetchStats
    # Commits this run has read: the writer may not have stored them yet.
    seen: set[str] = field(default_factory=set)

    def key(self, sha: str) -> str:
        return f"{self.full_name}#commit/{sha}"

    def run(self) -> Iterator[RawItem | Checkpoint]:
        state = dict(self.cursor.get(STREAM) or {})
        try:
            probe = self.api.get(
                f"repos/{self.full_name}/commits",
                etag=state.get("etag"),
                sha=self.branch,
                per_page=1,
            )
        except HttpError as exc:
            if exc.status == 409:  # "Git Repository is empty."
                return
            raise
        if probe.not_modified or not probe.data:
            return
        head = str(probe.data[0]["sha"])
        walks: list[dict[str, Any]] = list(state.get("walks", []))
        if head != state.get("tip") and head not in {w["head"] for w in walks}:
            walks.append({"head": head, "after": None, "frontier": [head]})
        yield RawItem("refs", f"{self.full_name}#ref/branch:{self.branch}", _ref(self.branch, head))
        while walks:
            yield from self._walk(walks[0], {**state, "walks": walks})
            walks.pop(0)
        done: dict[str, Any] = {"etag": probe.etag, "tip": head, "walks": []}
        yield self._checkpoint(done)

    def _checkpoint(self, state: dict[str, Any]) -> Checkpoint:
        self.cursor[STREAM] = state
        return Checkpoint({self.full_name: dict(self.cursor)})

    def _walk(self, walk: dict[str, Any], state: dict[str, Any]) -> Iterator[RawItem | Checkpoint]:
        """Read one walk to its end, checkpointing (in `walk`) after each page."""
        owner, name = self.full_name.split("/")
        frontier = set(walk["frontier"]) - self._known(set(walk["frontier"]))
        while frontier:
            variables = {
                "owner": owner,
                "name": name,
                "oid": walk["head"],
                "first": self.api.config.page_size,
                "after": walk["after"],
            }
            target = self.api.graphql(COMMIT_HISTORY, variables)["repository"]["object"]
            if target is None:
                return  # the head is gone from GitHub (a force-push, garbage collected)
            history = target["history"]
            yield from self._page(history["nodes"], frontier)
            walk.update(after=history["pageInfo"]["endCursor"], frontier=sorted(frontier))
            yield self._checkpoint(state)
            if not history["pageInfo"]["hasNextPage"]:
                return

    def _page(self, nodes: list[dict[str, Any]], frontier: set[str]) -> Iterator[RawItem]:
        """The page's commits the frontier reaches; their unknown parents join it."""
        parents = {p["oid"] for node in nodes for p in node["parents"]["nodes"]}
        known = self._known(parents)
        for node in nodes:
            sha = node["oid"]
            if sha not in frontier:
                continue  # reached only through stored commits: stored too
            frontier.discard(sha)
            self.seen.add(sha)
            self.stats.add("commits")
            yield RawItem(STREAM, self.key(sha), node)
            frontier.update(
                p["oid"] for p in node["parents"]["nodes"] if p["oid"] not in known | self.seen
            )
            if not frontier:
                return

    def _known(self, shas: set[str]) -> set[str]:
        """Which of these commits are stored (by an API or a clone sync) or read already."""
        keys = {self.key(sha): sha for sha in shas - self.seen}
        if not keys:
            return shas & self.seen
        stored = self.stored(STREAM, list(keys)) | self.stored(CLONE_STREAM, list(keys))
        return {keys[k] for k in stored} | (shas & self.seen)


def _ref(branch: str, sha: str) -> dict[str, Any]:
    return {
        "name": branch,
        "kind": "branch",
        "commit_sha": sha,
        "tag_sha": None,
        "tagger_name": None,
        "tagger_email": None,
        "tagger_date": None,
    }


def git_payload(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL commit as the git connector's payload (no .mailmap: names as recorded)."""
    return {
        "sha": node["oid"],
        "parents": [p["oid"] for p in node["parents"]["nodes"]],
        "author": _person(node["author"], node["authoredDate"]),
        "committer": _person(node["committer"], node["committedDate"]),
        "message": node["message"],
        "files": None,
    }


def _person(actor: dict[str, Any] | None, fallback: str) -> dict[str, Any]:
    actor = actor or {}
    # A GitTimestamp keeps the commit's own offset (a DateTime would be in UTC).
    when = datetime.fromisoformat(actor.get("date") or fallback)
    offset = when.utcoffset()
    name, email = actor.get("name") or "", actor.get("email") or ""
    return {
        "name": name,
        "email": email,
        "mailmap_name": name,
        "mailmap_email": email,
        "time": int(when.timestamp()),
        "offset": int(offset.total_seconds() // 60) if offset else 0,
    }


def commit_rows(normalizer: CommitNormalizer, node: dict[str, Any]) -> Iterator[SilverRow]:
    """The rows of an API commit: the clone path's own, with GitHub's line counts; a row a
    clone sync wrote (with its files, and .mailmap applied) is never overwritten."""
    for row in normalizer(git_payload(node)):
        if row.table is COMMIT and not row.values["is_merge"]:
            row.values.update(
                additions=node["additions"],
                deletions=node["deletions"],
                files_changed=node.get("changedFilesIfAvailable"),
            )
        yield SilverRow(row.table, row.values, ())

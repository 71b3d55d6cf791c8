"""Normalisers by source: what turns a bronze record back into silver rows, away from its sync.

A connector normalises with its configuration (the git connector needs its repository's id
and the bot pattern), so each kind of source says how to rebuild that configuration from what
the database keeps: bronze (always committed before its events are published, so it is there
when a processor or replay needs it), the sync cursor, and the settings. Nothing here touches
the network or the repository on disk.

A kind may also have a `finish`: the steps its sync runs at a checkpoint over the whole batch
(for git: stale refs, reachability, releases from tags), rebuilt from the cursor of the last
complete sync and from silver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from sqlalchemy import false, select, update
from sqlalchemy.orm import Session

from diogen.config import Settings
from diogen.connectors.asana.connector import normalize as asana_normalize
from diogen.connectors.asana.records import AsanaContext
from diogen.connectors.base import RawItem, SilverRow
from diogen.connectors.git import GitConfig, GitConnector
from diogen.connectors.linear.connector import normalize as linear_normalize
from diogen.connectors.linear.records import LinearContext
from diogen.errors import NotFoundError
from diogen.ingest.bronze import load_cursors
from diogen.ingest.models import RawRecord
from diogen.processing import hosted
from diogen.silver import Commit
from diogen.silver.deployments import link_deployed_commits, sync_release_deployments
from diogen.silver.history import CHUNK, mark_reachable_exactly, remove_stale_refs
from diogen.silver.keys import ref_id, repository_id

WEBHOOKS = "webhooks"


class Normaliser(Protocol):
    def normalize(self, item: RawItem) -> Iterable[SilverRow]: ...


NormaliserFactory = Callable[[Session, str, Settings], Normaliser]
Finish = Callable[[Session, str], dict[str, Any]]


@dataclass(frozen=True)
class SourceKind:
    normaliser: NormaliserFactory
    finish: Finish | None = None


def kind_of(source: str) -> str:
    """'git:flask' → 'git'; 'github@ghe.example.com' → 'github'."""
    return source.split(":", 1)[0].split("@", 1)[0]


class Normalisers:
    """The normaliser of each source, built once per processor (they cache what they resolve)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[str, Normaliser] = {}

    def get(self, session: Session, source: str) -> Normaliser:
        found = self._built.get(source)
        if found is None:
            found = self._built[source] = kind(source).normaliser(session, source, self.settings)
        return found

    def finish(self, session: Session, source: str) -> dict[str, Any]:
        step = kind(source).finish
        return step(session, source) if step is not None else {}


def kind(source: str) -> SourceKind:
    found = KINDS.get(kind_of(source))
    if found is None:
        raise NotFoundError(f"no normaliser for source {source!r}", source=source)
    return found


def git_normaliser(session: Session, source: str, settings: Settings) -> Normaliser:
    """The git connector of `source`, configured from its newest bronze repository record."""
    payload = session.scalars(
        select(RawRecord.payload)
        .where(RawRecord.source == source, RawRecord.stream == "repository")
        .order_by(RawRecord.fetched_at.desc())
        .limit(1)
    ).first()
    if payload is None:
        raise NotFoundError(f"no repository record in bronze for {source}", source=source)
    config = GitConfig(
        location=payload["location"],
        name=payload["name"],
        release_pattern=settings.effective_release_pattern,
        bot_pattern=settings.bot_pattern,
    )
    return GitConnector(config)


def git_finish(session: Session, source: str) -> dict[str, Any]:
    """The git sync's checkpoint steps from its cursor: refs as last seen, commits reachable
    from their tips (over the parents kept in silver), releases by the pattern it used, and
    the deployed commits they imply."""
    cursor = load_cursors(session, source).get("commits")
    if not cursor:
        return {}
    repo = repository_id("git", source.split(":", 1)[1])
    current = set()
    for entry in cursor["refs"]:
        kind_name, _sha, _tag = entry.rsplit(":", 2)
        ref_kind, name = kind_name.split(":", 1)
        current.add(ref_id(repo, ref_kind, name))
    summary: dict[str, Any] = {"refs_removed": remove_stale_refs(session, repo, current)}
    reachable = _ancestors(session, repo, cursor["tips"])
    summary["unreachable"] = mark_reachable_exactly(session, repo, reachable)
    _reachable_again(session, repo, reachable)
    summary.update(sync_release_deployments(session, repo, cursor["release_pattern"]))
    summary.update(link_deployed_commits(session, repo))
    return summary


def _reachable_again(session: Session, repository: str, reachable: set[str]) -> None:
    """Mark reachable the stored commits marked unreachable that the tips reach: an earlier
    walk stopped short of them at a commit missing from silver then (its event in the dead
    letters), which a retry has since applied."""
    marked = session.scalars(
        select(Commit.sha).where(Commit.repository_id == repository, Commit.reachable == false())
    )
    found = sorted(sha for sha in marked if sha in reachable)
    for start in range(0, len(found), CHUNK):
        session.execute(
            update(Commit)
            .where(Commit.repository_id == repository, Commit.sha.in_(found[start : start + CHUNK]))
            .values(reachable=True)
        )


def _ancestors(session: Session, repository: str, tips: list[str]) -> set[str]:
    rows = session.execute(
        select(Commit.sha, Commit.parents).where(Commit.repository_id == repository)
    )
    parents = {sha: parent_list for sha, parent_list in rows}
    seen: set[str] = set()
    todo = [tip for tip in tips if tip in parents]
    while todo:
        sha = todo.pop()
        if sha in seen:
            continue
        seen.add(sha)
        todo.extend(p for p in (parents[sha] or "").split() if p in parents and p not in seen)
    return seen


@dataclass(frozen=True)
class TrackerNormaliser:
    """An issue tracker's normaliser over its sync records. Webhook deliveries were
    normalised when they came (with what silver held then) and are kept as they arrived;
    a replay rebuilds from the syncs' records."""

    read: Callable[[RawItem], Iterable[SilverRow]]

    def normalize(self, item: RawItem) -> Iterable[SilverRow]:
        return [] if item.stream == WEBHOOKS else self.read(item)


def jira_normaliser(session: Session, source: str, settings: Settings) -> Normaliser:
    """The rules the last sync ran with (its stored configuration), over its records only."""
    return TrackerNormaliser(hosted.jira_normaliser(session, source, settings).normalize)


def linear_normaliser(session: Session, source: str, settings: Settings) -> Normaliser:
    return TrackerNormaliser(partial(linear_normalize, LinearContext(source, settings.bot_pattern)))


def asana_normaliser(session: Session, source: str, settings: Settings) -> Normaliser:
    return TrackerNormaliser(partial(asana_normalize, AsanaContext(source, settings.bot_pattern)))


KINDS: dict[str, SourceKind] = {
    "git": SourceKind(git_normaliser, git_finish),
    "github": SourceKind(hosted.github_normaliser, hosted.github_finish),
    "jira": SourceKind(jira_normaliser, hosted.jira_finish),
    "linear": SourceKind(linear_normaliser),
    "asana": SourceKind(asana_normaliser),
}

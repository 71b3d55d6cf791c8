"""Commits and refs of a GitHub repository from a clone, read by the git connector's code and
stored under the GitHub repository's id (so deployments link to them)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from diogen.connectors.base import Checkpoint, FetchStats, RawItem, StoredKeys
from diogen.connectors.git import repo as gitrepo
from diogen.connectors.git.commits import log_commits
from diogen.connectors.github.config import GitHubConfig
from diogen.connectors.github.context import RepoContext
from diogen.silver import history
from diogen.silver.keys import ref_id


def clone_items(
    config: GitHubConfig,
    ctx: RepoContext,
    path: Path,
    cursor: dict[str, Any],
    stored: StoredKeys,
    stats: FetchStats,
) -> Iterator[RawItem | Checkpoint]:
    """Refs of the mirror at `path`, then the commits no earlier sync kept, then a checkpoint
    with the new tips whose finishing step removes deleted refs and marks commits no ref
    reaches any more (a force-push, a deleted branch) unreachable, as `sync git` does."""
    refs = gitrepo.list_refs(path)
    tips = sorted({ref.commit_sha for ref in refs})
    state = cursor.get("commits", {})
    if state.get("tips") == tips:
        return
    for ref in refs:
        yield RawItem("refs", f"{ctx.full_name}#ref/{ref.kind}:{ref.name}", _ref_payload(ref))
    old = state.get("tips", [])
    present = gitrepo.existing_objects(path, old)
    new = gitrepo.rev_list(path, tips, sorted(present))
    keys = {f"{ctx.full_name}#commit/{sha}": sha for sha in new}
    kept = stored("commits", keys)
    for payload in log_commits(
        path, [sha for k, sha in keys.items() if k not in kept], config.git_jobs
    ):
        stats.add("commits")
        yield RawItem("commits", f"{ctx.full_name}#commit/{payload['sha']}", payload)
    current = {ref_id(ctx.repository_id, ref.kind, ref.name) for ref in refs}
    lost, reachable = _lost_history(path, old, present, tips, new)
    cursor["commits"] = {"tips": tips}
    yield Checkpoint(
        {ctx.full_name: dict(cursor)},
        finish=partial(_finish, ctx.repository_id, current, lost, reachable),
    )


def _lost_history(
    path: Path, old: list[str], present: set[str], tips: list[str], new: list[str]
) -> tuple[list[str], set[str] | None]:
    """Commits the last tips reached that today's do not; or, where git cannot be asked that
    (no complete earlier sync, or an old tip pruned), every reachable commit, to compare."""
    if not old:
        return [], set(new)
    if len(present) < len(old):
        return [], set(gitrepo.rev_list(path, tips, []))
    return gitrepo.rev_list(path, sorted(present), tips), None


def _finish(
    repository_id: str,
    current: set[str],
    lost: list[str],
    reachable: set[str] | None,
    session: Session,
) -> dict[str, Any]:
    if reachable is not None:
        unreachable = history.mark_reachable_exactly(session, repository_id, reachable)
    else:
        unreachable = history.mark_unreachable(session, repository_id, lost)
    return {
        "refs_removed": history.remove_stale_refs(session, repository_id, current),
        "unreachable": unreachable,
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

"""Commits and refs of a GitHub repository from a clone, read by the git connector's code and
stored under the GitHub repository's id (so deployments link to them)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
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
    clone_url: str,
    cursor: dict[str, Any],
    stored: StoredKeys,
    stats: FetchStats,
) -> Iterator[RawItem | Checkpoint]:
    """Refs, then the commits no earlier sync kept, then a checkpoint with the new tips."""
    path = gitrepo.mirror(clone_url, config.cache_dir)
    refs = gitrepo.list_refs(path)
    tips = sorted({ref.commit_sha for ref in refs})
    state = cursor.get("commits", {})
    if state.get("tips") == tips:
        return
    for ref in refs:
        yield RawItem("refs", f"{ctx.full_name}#ref/{ref.kind}:{ref.name}", _ref_payload(ref))
    present = gitrepo.existing_objects(path, state.get("tips", []))
    new = gitrepo.rev_list(path, tips, sorted(present))
    keys = {f"{ctx.full_name}#commit/{sha}": sha for sha in new}
    kept = stored("commits", keys)
    for payload in log_commits(
        path, [sha for k, sha in keys.items() if k not in kept], config.git_jobs
    ):
        stats.add("commits")
        yield RawItem("commits", f"{ctx.full_name}#commit/{payload['sha']}", payload)
    current = {ref_id(ctx.repository_id, ref.kind, ref.name) for ref in refs}
    cursor["commits"] = {"tips": tips}
    yield Checkpoint(
        {ctx.full_name: dict(cursor)},
        finish=partial(_remove_stale_refs, ctx.repository_id, current),
    )


def _remove_stale_refs(repository_id: str, current: set[str], session: Session) -> dict[str, Any]:
    return {"refs_removed": history.remove_stale_refs(session, repository_id, current)}


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

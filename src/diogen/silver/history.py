"""What is reachable in a repository now: refs as last seen and commits that fell out of history."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from diogen.silver.code import Commit, GitRef

CHUNK = 500


def remove_stale_refs(session: Session, repository_id: str, current: Collection[str]) -> int:
    """Delete refs of the repository whose ids are not in `current` (deleted branches/tags)."""
    stored = session.scalars(select(GitRef.id).where(GitRef.repository_id == repository_id))
    stale = [ref for ref in stored if ref not in current]
    for ids in _chunks(stale):
        session.execute(delete(GitRef).where(GitRef.id.in_(ids)))
    return len(stale)


def mark_unreachable(session: Session, repository_id: str, shas: Iterable[str]) -> int:
    """Mark commits no ref reaches any more (force-push, deleted branch); they stay stored."""
    count = 0
    for chunk in _chunks(list(shas)):
        result = session.execute(
            update(Commit)
            .where(Commit.repository_id == repository_id, Commit.sha.in_(chunk))
            .values(reachable=False)
        )
        count += result.rowcount  # type: ignore[attr-defined]
    return count


def mark_reachable_exactly(session: Session, repository_id: str, reachable: Collection[str]) -> int:
    """Set every stored commit's reachability from the complete set of reachable shas."""
    stored = session.execute(
        select(Commit.sha, Commit.reachable).where(Commit.repository_id == repository_id)
    )
    lost = [sha for sha, was in stored if was and sha not in reachable]
    return mark_unreachable(session, repository_id, lost)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]

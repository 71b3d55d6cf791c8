"""What is reachable in a repository now: refs as last seen and commits that fell out of history."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import bindparam, delete, select, text, update
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


def mark_reachable_from(session: Session, repository_id: str, tips: list[str]) -> int:
    """Mark unreachable the stored commits that `tips` do not reach, walking the parents
    kept in silver, in the database: no whole history in memory. How many."""
    walk = ancestry(session.get_bind().dialect.name, ":tips")
    result = session.execute(
        text(
            # The walk inside: sqlite3 counts the rows of a statement only when it begins
            # with UPDATE.
            "UPDATE git_commit SET reachable = :no WHERE repository_id = :repo "
            f"AND reachable AND sha NOT IN ({walk} SELECT sha FROM walk)"
        ).bindparams(bindparam("tips", expanding=True)),
        {"repo": repository_id, "tips": tips or [""], "no": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def ancestry(dialect: str, tips: str, stop: str = "TRUE = FALSE") -> str:
    """`WITH RECURSIVE walk(id, sha, parents)`: the commits of repository :repo whose sha
    is in `tips` (an SQL list) and their ancestors, through the parents kept in silver (a
    parent not stored ends the walk there). The walk stops short of the commits `c` of
    which `stop` (SQL) is true."""
    return (
        "WITH RECURSIVE walk(id, sha, parents) AS ("
        " SELECT c.id, c.sha, c.parents FROM git_commit c"
        f" WHERE c.repository_id = :repo AND c.sha IN {tips} AND NOT ({stop})"
        " UNION"
        # CROSS JOIN: SQLite then joins in this order (its planner would rather scan every
        # commit of the repository for each step).
        f" SELECT c.id, c.sha, c.parents FROM walk CROSS JOIN {_parents(dialect)}"
        f" CROSS JOIN git_commit c WHERE c.repository_id = :repo"
        f" AND c.sha = {_PARENT[dialect]} AND NOT ({stop}))"
    )


def _parents(dialect: str) -> str:
    """A FROM item listing the parent shas of walk.parents (kept space-separated)."""
    if dialect == "postgresql":
        return "unnest(string_to_array(walk.parents, ' ')) AS parent(sha)"
    return """json_each('["' || replace(walk.parents, ' ', '","') || '"]') AS parent"""


_PARENT = {"postgresql": "parent.sha", "sqlite": "parent.value"}


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]

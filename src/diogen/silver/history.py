"""What is reachable in a repository now: refs as last seen and commits that fell out of history."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable

from sqlalchemy import delete, func, select, text, update
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


def stored_commits(session: Session, repository_id: str) -> int:
    return int(
        session.scalar(select(func.count()).where(Commit.repository_id == repository_id)) or 0
    )


def mark_reachable_from(session: Session, repository_id: str, tips: list[str]) -> int:
    """Mark unreachable the stored commits that `tips` do not reach, walking the parents
    kept in silver, in the database: no whole history in memory. How many."""
    dialect = session.get_bind().dialect.name
    walk = ancestry(dialect, tip_list(dialect, "tips"))
    result = session.execute(
        text(
            # The walk inside: sqlite3 counts the rows of a statement only when it begins
            # with UPDATE.
            "UPDATE git_commit SET reachable = :no WHERE repository_id = :repo "
            f"AND reachable AND sha NOT IN ({walk} SELECT sha FROM walk)"
        ),
        {"repo": repository_id, "tips": json.dumps(tips), "no": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def ancestry(dialect: str, tips: str, stop: str = "TRUE = FALSE") -> str:
    """`WITH RECURSIVE walk(sha)`: the shas in `tips` (a FROM item `tip_list` makes) and
    those of their ancestors in repository :repo, through the parents kept in silver (a
    parent not stored is in the walk but ends it there). The walk does not go into the
    parents `parent.value` of which `stop` (SQL) is true. Walking shas, not whole rows,
    keeps the set the database deduplicates small: a third faster on SQLite."""
    return (
        f"WITH RECURSIVE walk(sha) AS (SELECT tip.value FROM {tips}"
        " UNION"
        # CROSS JOIN: SQLite then joins in this order (its planner would rather scan every
        # commit of the repository for each step).
        f" SELECT parent.value FROM walk CROSS JOIN git_commit c CROSS JOIN {_parents(dialect)}"
        f" WHERE c.repository_id = :repo AND c.sha = walk.sha AND NOT ({stop}))"
    )


def tip_list(dialect: str, name: str) -> str:
    """A FROM item `tip` of the shas in the JSON list parameter `name`, as `tip.value`."""
    if dialect == "postgresql":
        return f"jsonb_array_elements_text(CAST(:{name} AS jsonb)) AS tip(value)"
    return f"json_each(:{name}) AS tip"


def _parents(dialect: str) -> str:
    """A FROM item `parent` of the parent shas of c.parents (kept space-separated), as
    `parent.value`."""
    if dialect == "postgresql":
        return "unnest(string_to_array(c.parents, ' ')) AS parent(value)"
    return """json_each('["' || replace(c.parents, ' ', '","') || '"]') AS parent"""


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]

"""Links between work and code: the issues that branch names, pull request titles and bodies,
and commit messages name (`feature/ENG-42-login`, "DIO-7: fix the sync").

Keys count only for projects the database has issues of (any case: `feature/proj-12-x`
names PROJ-12); a key matching issues of several trackers links each. The links of a scope
(repositories, or the changes that may name some issues) are recomputed from both sides, so
running it again, or after either side arrives, gives the same rows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import ColumnElement, delete, false, func, or_, select
from sqlalchemy.orm import Session

from diogen.db import upsert
from diogen.ids import stable_id
from diogen.silver.base import table_of
from diogen.silver.code import Commit, PullRequest
from diogen.silver.work import Issue, WorkLink

# PROJ-123: a project key (a letter, then letters, digits or underscores) and a number.
ISSUE_KEY = re.compile(r"(?<![A-Za-z0-9_-])([A-Za-z][A-Za-z0-9_]*)-([1-9][0-9]*)(?![A-Za-z0-9])")
# Upper-case words followed by a number that are rarely issue keys, when no project list says.
NOT_PROJECTS = frozenset({"UTF", "SHA", "ISO", "RFC", "CVE", "HTTP", "TLS", "SSL", "GMT", "UTC"})
WORK_LINK = table_of(WorkLink)
CHUNK = 500


def issue_keys(text: str | None, projects: Collection[str] | None = None) -> list[str]:
    """Issue keys mentioned in a branch name, title, body or commit message, in order.

    With `projects`, any case matches and only those projects count ('feature/proj-12-x' →
    'PROJ-12'); without, only upper-case keys count, minus common non-project words.
    """
    if not text:
        return []
    wanted = {p.upper() for p in projects} if projects is not None else None
    found: dict[str, None] = {}
    for match in ISSUE_KEY.finditer(text):
        project, number = match.group(1), match.group(2)
        if wanted is not None:
            if project.upper() in wanted:
                found[f"{project.upper()}-{number}"] = None
        elif project.isupper() and len(project) > 1 and project not in NOT_PROJECTS:
            found[f"{project}-{number}"] = None
    return list(found)


def _issues(session: Session) -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = defaultdict(list)
    for key, issue_id in session.execute(select(Issue.key, Issue.id).order_by(Issue.id)):
        by_key[key.upper()].append(issue_id)
    return by_key


def _mentions(columns: Iterable[Any], keys: Collection[str]) -> ColumnElement[bool]:
    """Rows whose text may name one of `keys` (exact matching follows in Python)."""
    clauses = [func.lower(column).contains(key.lower()) for column in columns for key in keys]
    return or_(*clauses) if clauses else false()


def link_work(
    session: Session,
    *,
    repositories: Collection[str] | None = None,
    keys: Collection[str] | None = None,
) -> dict[str, int]:
    """Recompute the links of these repositories' changes, or of the changes that may name
    these issue keys (neither: every link)."""
    issues = _issues(session)
    projects = {key.rsplit("-", 1)[0] for key in issues}
    pulls = select(
        PullRequest.id,
        PullRequest.repository_id,
        PullRequest.head_ref,
        PullRequest.title,
        PullRequest.body,
    )
    commits = select(Commit.id, Commit.repository_id, Commit.message)
    stored = select(WorkLink.id, WorkLink.found_in)
    if repositories is not None:
        pulls = pulls.where(PullRequest.repository_id.in_(sorted(repositories)))
        commits = commits.where(Commit.repository_id.in_(sorted(repositories)))
        stored = stored.where(WorkLink.repository_id.in_(sorted(repositories)))
    if keys is not None:
        wanted = sorted({key.upper() for key in keys})
        texts = (PullRequest.head_ref, PullRequest.title, PullRequest.body)
        pulls = pulls.where(_mentions(texts, wanted))
        commits = commits.where(_mentions((Commit.message,), wanted))
        stored = stored.where(WorkLink.issue_key.in_(wanted))
    rows: dict[str, dict[str, Any]] = {}
    if not issues:  # no tracker synced yet: nothing to read the changes for
        return _write(session, _stored(session, stored), {})

    def add(key: str, repository: str, found_in: str, pull: str | None, commit: str | None) -> None:
        if keys is not None and key not in wanted:
            return
        for issue_id in issues.get(key, []):
            row_id = stable_id("work_link", issue_id, pull or "", commit or "")
            rows.setdefault(
                row_id,
                {
                    "id": row_id,
                    "issue_id": issue_id,
                    "issue_key": key,
                    "repository_id": repository,
                    "pull_request_id": pull,
                    "commit_id": commit,
                    "found_in": found_in,
                },
            )

    for pull_id, repository, branch, title, body in session.execute(pulls):
        for found_in, text in (("branch", branch), ("title", title), ("body", body)):
            for key in issue_keys(text, projects):
                add(key, repository, found_in, pull_id, None)
    for commit_id, repository, message in session.execute(commits):
        for key in issue_keys(message, projects):
            add(key, repository, "message", None, commit_id)
    return _write(session, _stored(session, stored), rows)


def _stored(session: Session, query: Any) -> dict[str, str]:
    return {str(row[0]): str(row[1]) for row in session.execute(query)}


def _write(
    session: Session, existing: dict[str, str], rows: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """Only the difference: links gone are deleted, new or changed ones written."""
    gone = sorted(set(existing) - set(rows))
    for start in range(0, len(gone), CHUNK):
        session.execute(delete(WorkLink).where(WorkLink.id.in_(gone[start : start + CHUNK])))
    changed = [row for row_id, row in rows.items() if existing.get(row_id) != row["found_in"]]
    upsert(session, WORK_LINK, changed, update=("found_in",))
    return {
        "work_links": len(rows),
        "work_links_written": len(changed),
        "work_links_removed": len(gone),
    }

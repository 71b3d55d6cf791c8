"""The commit ↔ pull request matching computed from silver (DESIGN.md §5).

A pull request is deployed by the first production deployment containing its merge commit or
any of its commits, which covers merge, squash and rebase merges alike; commits are matched to
pull requests by sha within the same repository. Reports read this answer from gold
(`metrics.gold`), which stores it per repository; this is how gold computes it, and what a
report reads for repositories whose gold rows are behind silver.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, and_, select, union
from sqlalchemy.orm import aliased

from diogen.metrics.sql_hints import not_an_index
from diogen.silver import Commit, PullRequest, PullRequestCommit


def pull_request_commits(
    *,
    commits: Select[Any] | None = None,
    pull_requests: Select[Any] | Collection[str] | None = None,
) -> Select[tuple[str, str]]:
    """(pull request id, commit id) for the commits of pull requests.

    A pull request's commits are those it lists, its merge commit (a merge or a squash), and
    their rebased copies: a rebase merge writes new commits that keep each original's author,
    author date and subject, and only the last of them is the merge commit. `commits` and
    `pull_requests` restrict the answer (ids, or a query of ids) inside every branch, where
    the database can use its indexes, rather than around the union.
    """
    # Off the pull-request (repository, number) index, which would walk every pull request of
    # the repository for each commit: the commits' sha indexes are the way in.
    pr_repository = not_an_index(PullRequest.repository_id)
    same_repository = Commit.repository_id == pr_repository
    listed = (
        select(PullRequestCommit.pull_request_id, Commit.id.label("commit_id"))
        .join(PullRequest, PullRequest.id == PullRequestCommit.pull_request_id)
        .join(Commit, and_(Commit.sha == PullRequestCommit.sha, same_repository))
    )
    merged = select(PullRequest.id.label("pull_request_id"), Commit.id.label("commit_id")).join(
        Commit, and_(Commit.sha == PullRequest.merge_commit_sha, same_repository)
    )
    original = aliased(Commit)
    rebased = (
        select(PullRequestCommit.pull_request_id, Commit.id.label("commit_id"))
        .join(PullRequest, PullRequest.id == PullRequestCommit.pull_request_id)
        .join(
            original,
            and_(
                original.sha == PullRequestCommit.sha,
                original.repository_id == pr_repository,
            ),
        )
        .join(
            Commit,
            and_(
                same_repository,
                Commit.repository_id == original.repository_id,
                Commit.authored_at == original.authored_at,
                Commit.author_email == original.author_email,
                Commit.subject == original.subject,
                Commit.sha != original.sha,
            ),
        )
    )
    branches = [listed, merged, rebased] if commits is None else _of_commits(commits)
    if pull_requests is not None:
        branches = [branch.where(PullRequest.id.in_(pull_requests)) for branch in branches]
    return union(*branches)  # type: ignore[return-value]


def _of_commits(commits: Select[Any]) -> list[Select[Any]]:
    """The same three branches, driven by the commits `commits`.

    The commits' rows (sha, repository, author, date, subject) are read once into a
    materialised CTE the branches join: with ids alone each branch fetched every commit again
    by primary key (three random reads per commit of the window). Materialised also because
    PostgreSQL otherwise estimates the window's commits (a semi-join through
    deployment_commit and deployment) at one row and hashes every commit, pull request and
    listed commit of the history for each branch.
    """
    wanted = (
        select(
            Commit.id,
            Commit.sha,
            Commit.repository_id,
            Commit.authored_at,
            Commit.author_email,
            Commit.subject,
        )
        .where(Commit.id.in_(commits))
        .cte()
        .prefix_with("MATERIALIZED")
    )
    commit_id = wanted.c.id.label("commit_id")
    pr_repository = not_an_index(PullRequest.repository_id)
    listed = (
        select(PullRequestCommit.pull_request_id, commit_id)
        .select_from(wanted)
        .join(PullRequestCommit, PullRequestCommit.sha == wanted.c.sha)
        .join(
            PullRequest,
            and_(
                PullRequest.id == PullRequestCommit.pull_request_id,
                pr_repository == wanted.c.repository_id,
            ),
        )
    )
    merged = (
        select(PullRequest.id.label("pull_request_id"), commit_id)
        .select_from(wanted)
        .join(
            PullRequest,
            and_(
                PullRequest.merge_commit_sha == wanted.c.sha,
                pr_repository == wanted.c.repository_id,
            ),
        )
    )
    original = aliased(Commit)
    rebased = (
        select(PullRequestCommit.pull_request_id, commit_id)
        .select_from(wanted)
        .join(
            original,
            # The CTE's side hidden from SQLite's automatic indexes, which would have it scan
            # every listed commit of the history and probe the window's commits.
            and_(
                original.repository_id == not_an_index(wanted.c.repository_id),
                original.authored_at == not_an_index(wanted.c.authored_at),
                original.author_email == not_an_index(wanted.c.author_email),
                original.subject == not_an_index(wanted.c.subject),
                original.sha != wanted.c.sha,
            ),
        )
        .join(PullRequestCommit, PullRequestCommit.sha == original.sha)
        .join(
            PullRequest,
            and_(
                PullRequest.id == PullRequestCommit.pull_request_id,
                pr_repository == wanted.c.repository_id,
            ),
        )
    )
    return [listed, merged, rebased]

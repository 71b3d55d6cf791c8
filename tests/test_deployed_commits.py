"""Deployed commits and reachability by ancestry (DESIGN.md §5), walked in the database, on
random histories, against the definitions; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from diogen.db import session_scope
from diogen.silver import Commit, Deployment, DeploymentCommit, Repository
from diogen.silver.deployments import link_deployed_commits
from diogen.silver.history import mark_reachable_from

History = tuple[list[list[int]], list[tuple[int, str]]]
ENVIRONMENTS = ("production", "staging")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SHARED = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def histories(draw: st.DrawFn) -> History:
    """Parents of each commit (always earlier commits: a DAG, merges of up to three parents),
    and deployments in time order: a tip and an environment each."""
    size = draw(st.integers(min_value=1, max_value=40))
    parents = [
        sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=3)))) if i else []
        for i in range(size)
    ]
    deployment = st.tuples(st.integers(0, size - 1), st.sampled_from(ENVIRONMENTS))
    return parents, draw(st.lists(deployment, min_size=1, max_size=8))


def reachable(parents: list[list[int]], tips: list[int]) -> set[int]:
    seen, stack = set(), list(tips)
    while stack:
        commit = stack.pop()
        if commit not in seen:
            seen.add(commit)
            stack.extend(parents[commit])
    return seen


def store(session: Session, parents: list[list[int]], stored: set[int] | None = None) -> str:
    """A new repository with commits `sha<i>` (those in `stored`, by default all);
    its id."""
    repo = uuid.uuid4().hex
    session.add(Repository(id=repo, source="test", external_id=repo, provider="git", name=repo))
    session.flush()
    for i, own in enumerate(parents):
        if stored is None or i in stored:
            session.add(commit(repo, i, own))
    session.flush()
    return repo


def commit(repo: str, i: int, parents: list[int]) -> Commit:
    when = T0 + timedelta(minutes=i)
    return Commit(
        id=f"{repo[:24]}{i:08d}",
        repository_id=repo,
        sha=f"sha{i}",
        parents=" ".join(f"sha{p}" for p in parents),
        author_name="a",
        author_email="a@example.com",
        committer_name="a",
        committer_email="a@example.com",
        authored_at=when,
        author_tz_offset=0,
        committed_at=when,
        committer_tz_offset=0,
        subject="s",
        message="s",
        is_merge=len(parents) > 1,
        reachable=True,
    )


def deploy(session: Session, repo: str, order: int, sha: str, environment: str) -> str:
    deployment_id = f"{repo[:24]}d{order:07d}"
    when = T0 + timedelta(days=1, minutes=order)
    session.add(
        Deployment(
            id=deployment_id,
            source="test",
            external_id=deployment_id,
            repository_id=repo,
            environment=environment,
            sha=sha,
            status="success",
            started_at=when,
            finished_at=when,
        )
    )
    session.flush()
    return deployment_id


def links(session: Session, repo: str) -> set[tuple[str, str]]:
    rows = session.execute(
        select(DeploymentCommit.deployment_id, DeploymentCommit.commit_id)
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .where(Deployment.repository_id == repo)
    )
    return {(d, c) for d, c in rows}


@SHARED
@given(histories())
def test_each_commit_goes_to_the_first_deployment_to_its_environment_that_contains_it(
    engine: Engine, history: History
) -> None:
    parents, deployments = history
    with session_scope(engine) as session:
        repo = store(session, parents)
        expected: set[tuple[str, str]] = set()
        earlier: dict[str, set[int]] = {environment: set() for environment in ENVIRONMENTS}
        for order, (tip, environment) in enumerate(deployments):
            deployment_id = deploy(session, repo, order, f"sha{tip}", environment)
            claimed = reachable(parents, [tip]) - earlier[environment]
            expected |= {(deployment_id, f"{repo[:24]}{i:08d}") for i in claimed}
            earlier[environment] |= claimed
        summary = link_deployed_commits(session, repo)
        assert links(session, repo) == expected
        assert summary == {
            "deployed_commits": len(expected),
            "links_added": len(expected),
            "links_removed": 0,
        }
        # Nothing changed: nothing written.
        assert link_deployed_commits(session, repo)["links_added"] == 0


def test_relinking_moves_commits_to_an_earlier_deployment(engine: Engine) -> None:
    parents: list[list[int]] = [[], [0], [1], [2]]
    with session_scope(engine) as session:
        repo = store(session, parents)
        late = deploy(session, repo, 5, "sha3", "production")
        link_deployed_commits(session, repo)
        early = deploy(session, repo, 1, "sha1", "production")
        summary = link_deployed_commits(session, repo)
        prefix = repo[:24]
        assert links(session, repo) == {
            (early, f"{prefix}00000000"),
            (early, f"{prefix}00000001"),
            (late, f"{prefix}00000002"),
            (late, f"{prefix}00000003"),
        }
        assert (summary["links_added"], summary["links_removed"]) == (2, 2)


def test_unknown_tip_and_missing_parents(engine: Engine) -> None:
    # sha1's parent sha0 is not stored (beyond a shallow clone): the walk ends there.
    with session_scope(engine) as session:
        repo = store(session, [[], [0], [1]], stored={1, 2})
        deploy(session, repo, 0, "unknown", "production")
        second = deploy(session, repo, 1, "sha2", "production")
        link_deployed_commits(session, repo)
        prefix = repo[:24]
        assert links(session, repo) == {
            (second, f"{prefix}00000001"),
            (second, f"{prefix}00000002"),
        }


@SHARED
@given(histories(), st.data())
def test_reachability_from_tips_is_marked_exactly(
    engine: Engine, history: History, data: st.DataObject
) -> None:
    parents, _ = history
    tips = data.draw(st.lists(st.integers(0, len(parents) - 1), max_size=3))
    with session_scope(engine) as session:
        repo = store(session, parents)
        marked = mark_reachable_from(session, repo, [f"sha{tip}" for tip in tips])
        rows = session.execute(
            select(Commit.sha, Commit.reachable).where(Commit.repository_id == repo)
        )
        expected = {f"sha{i}" for i in reachable(parents, tips)}
        assert {sha for sha, flag in rows if flag} == expected
        assert marked == len(parents) - len(expected)

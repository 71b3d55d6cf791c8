"""Property tests of the DORA report over generated histories, on SQLite and PostgreSQL.

Invariants: the change failure rate lies in [0, 1]; a pull request's stages sum to its lead
time; the report does not depend on the order rows were stored in, nor on storing them twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session
from test_metrics_support import engine_for

from diogen.ids import stable_id
from diogen.metrics import Scope, Window, dora_report
from diogen.silver import (
    Commit,
    Deployment,
    DeploymentCommit,
    Incident,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
)
from diogen.silver.base import Base

# Every scenario twice: matching from silver, and from refreshed gold rows.
pytestmark = pytest.mark.usefixtures("matching_source")

START = datetime(2024, 1, 1, tzinfo=UTC)
WINDOW = Window(START + timedelta(days=3), START + timedelta(days=25))
REPO = stable_id("prop", "repository", "r")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = engine_for(database_url)
    yield engine
    engine.dispose()


def _commit(index: int, hour: int) -> Commit:
    when = START + timedelta(hours=hour)
    return Commit(
        id=stable_id("prop", "commit", index),
        repository_id=REPO,
        sha=f"{index:040x}",
        parents="",
        author_name="a",
        author_email="a@example.com",
        committer_name="a",
        committer_email="a@example.com",
        authored_at=when,
        author_tz_offset=0,
        committed_at=when,
        committer_tz_offset=0,
        subject=f"c{index}",
        message=f"c{index}",
        is_merge=False,
        reachable=True,
    )


@st.composite
def histories(draw: st.DrawFn) -> dict[str, list[Any]]:
    """A repository with commits, pull requests, deployments shipping consecutive commit
    slices, rollbacks, incidents and reviews, as rows grouped by table."""
    hours = sorted(draw(st.lists(st.integers(0, 600), min_size=1, max_size=14)))
    commits = [_commit(i, h) for i, h in enumerate(hours)]
    cuts = sorted(draw(st.sets(st.integers(1, len(commits)), min_size=1, max_size=6)))
    deployments, links, previous = [], [], 0
    for n, cut in enumerate(cuts):
        latest = commits[cut - 1].authored_at
        finished = latest + timedelta(hours=draw(st.integers(-5, 90)))
        dep_id = stable_id("prop", "deployment", n)
        deployments.append(
            Deployment(
                id=dep_id,
                repository_id=REPO,
                environment=draw(st.sampled_from(["production", "production", "staging"])),
                sha=commits[cut - 1].sha,
                status=draw(st.sampled_from(["success", "success", "success", "failure"])),
                finished_at=finished,
                is_rollback=draw(st.booleans()) and n > 0,
                source="prop",
                external_id=str(n),
            )
        )
        links += [
            DeploymentCommit(
                id=stable_id("prop", "dc", n, c.id), deployment_id=dep_id, commit_id=c.id
            )
            for c in commits[previous:cut]
        ]
        previous = cut
    prs, pr_commits, reviews = _pull_requests(draw, commits)
    incidents = [
        Incident(
            id=stable_id("prop", "incident", k),
            source="prop",
            external_id=str(k),
            repository_id=REPO,
            started_at=START + timedelta(hours=draw(st.integers(0, 700))),
            resolved_at=draw(st.none() | st.just(START + timedelta(hours=800))),
        )
        for k in range(draw(st.integers(0, 4)))
    ]
    return {
        "commits": commits,
        "deployments": deployments,
        "links": links,
        "prs": prs,
        "pr_commits": pr_commits,
        "reviews": reviews,
        "incidents": incidents,
    }


def _pull_requests(draw: st.DrawFn, commits: list[Commit]) -> tuple[list[Any], ...]:
    prs, pr_commits, reviews = [], [], []
    for number, index in enumerate(draw(st.sets(st.integers(0, len(commits) - 1), max_size=4))):
        first = commits[index].authored_at
        pr_id = stable_id("prop", "pr", number)
        offsets = sorted(draw(st.lists(st.integers(-10, 80), min_size=3, max_size=3)))
        prs.append(
            PullRequest(
                id=pr_id,
                repository_id=REPO,
                number=number + 1,
                state="merged",
                created_at=first + timedelta(hours=offsets[0]),
                merged_at=first + timedelta(hours=offsets[2]),
                merge_commit_sha=commits[index].sha,
                source="prop",
                external_id=str(number),
            )
        )
        pr_commits.append(
            PullRequestCommit(
                id=stable_id("prop", "prc", number), pull_request_id=pr_id, sha=commits[index].sha
            )
        )
        if draw(st.booleans()):
            reviews.append(
                Review(
                    id=stable_id("prop", "review", number),
                    pull_request_id=pr_id,
                    state="APPROVED",
                    submitted_at=first + timedelta(hours=offsets[1]),
                    source="prop",
                    external_id=str(number),
                )
            )
    return prs, pr_commits, reviews


def _store(engine: Engine, history: dict[str, list[Any]], order: list[int], twice: bool) -> None:
    with Session(engine) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        session.add(Repository(id=REPO, name="r", provider="git", source="git", external_id="r"))
        for _ in range(2 if twice else 1):
            for rows in history.values():
                # Any order within a table; tables in dependency order, as foreign keys demand.
                for position in sorted(range(len(rows)), key=lambda i: (order[i % len(order)], i)):
                    session.merge(rows[position])
                session.flush()
        session.commit()


def _report(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return dora_report(session, Scope(), WINDOW, bucket="week", explain=True)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), order=st.permutations(range(8)))
def test_report_invariants(engine: Engine, history: dict[str, list[Any]], order: list[int]) -> None:
    _store(engine, history, list(range(8)), twice=False)
    report = _report(engine)

    cfr = report["change_failure_rate"]
    if cfr["rate"] is not None:
        assert 0.0 <= cfr["rate"] <= 1.0
        assert 0 <= cfr["failed"] <= cfr["deployments"]
    for change in report["evidence"]["changes"]:
        assert change["lead_time_hours"] >= 0
        if change["kind"] == "pull_request":
            total = sum(hours or 0.0 for hours in change["stages"].values())
            assert total == pytest.approx(change["lead_time_hours"], abs=0.02)
            assert all(hours is None or hours >= 0 for hours in change["stages"].values())
    for deployment in report["evidence"]["deployments"]:
        assert deployment["recovery_hours"] is None or deployment["recovery_hours"] >= 0

    _store(engine, history, order, twice=True)
    assert _report(engine) == report

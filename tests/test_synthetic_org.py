"""The synthetic organisation behind bench/org_metrics.py: deterministic, coherent, measurable."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, and_, func, select, text
from sqlalchemy.orm import Session, aliased

from diogen.db import make_engine, session_scope
from diogen.metrics import Scope, Window, dora_report
from diogen.silver import (
    Commit,
    Deployment,
    DeploymentCommit,
    Identity,
    PullRequest,
    PullRequestCommit,
    Repository,
    TeamMembership,
)
from diogen.silver.deployments import link_deployed_commits
from diogen.testing.synthetic_org import (
    END,
    LEAVES,
    TABLES,
    OrgSummary,
    append_events,
    generate_organization,
    sizes,
)

SCALE = 0.002


@pytest.fixture
def generated(database_url: str) -> Iterator[tuple[Engine, OrgSummary]]:
    engine = make_engine(database_url)
    yield engine, generate_organization(engine, SCALE, seed=0)
    engine.dispose()


def _contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with Session(engine) as session:
        return {
            table.name: sorted(tuple(row) for row in session.execute(select(table)))
            for table in TABLES
        }


def test_same_seed_same_rows_on_any_database(
    generated: tuple[Engine, OrgSummary], tmp_path: Path
) -> None:
    engine, summary = generated
    again = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    assert generate_organization(again, SCALE, seed=0) == summary
    generate_organization(other, SCALE, seed=1)
    contents = _contents(engine)
    assert contents == _contents(again)
    assert contents["git_commit"] != _contents(other)["git_commit"]
    assert summary.rows == {name: len(rows) for name, rows in contents.items()}
    assert all(summary.rows.values()), "every kind of row exists at any scale"
    expected = sizes(SCALE)
    assert summary.rows["git_commit"] == expected["commits"] == 2000
    assert summary.rows["pull_request"] == expected["pull_requests"] == 400
    assert summary.rows["issue"] == expected["issues"] == 600
    assert summary.rows["incident"] == expected["incidents"] == 10


def test_every_commit_is_shipped_once_per_environment_as_ancestry_says(
    generated: tuple[Engine, OrgSummary],
) -> None:
    engine, _ = generated
    with session_scope(engine) as session:
        shipped = session.execute(
            select(DeploymentCommit.commit_id, Deployment.environment, func.count())
            .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
            .group_by(DeploymentCommit.commit_id, Deployment.environment)
        ).all()
        assert {environment for _, environment, _ in shipped} == {"production", "staging"}
        assert all(count == 1 for *_, count in shipped)
        production = sum(environment == "production" for _, environment, _ in shipped)
        assert production > 0.9 * (session.scalar(select(func.count()).select_from(Commit)) or 0)
        # The project's own writer recomputes deployed commits from the parents and the
        # deployed shas: it must find nothing to change, before and after new events.
        repos = session.scalars(select(Repository.id)).all()
        assert _relinked(session, repos) == {"links_added": 0, "links_removed": 0}
        added = append_events(session, END + timedelta(hours=1), events=100)
        assert sum(added.values()) == 100 + added["deployment_commit"]
        assert _relinked(session, repos) == {"links_added": 0, "links_removed": 0}


def _relinked(session: Session, repos: Sequence[str]) -> dict[str, int]:
    changes: dict[str, int] = defaultdict(int)
    for repo in repos:
        found = link_deployed_commits(session, repo)
        for key in ("links_added", "links_removed"):
            changes[key] += found[key]
    return dict(changes)


def test_pull_requests_memberships_and_bots_are_coherent(
    generated: tuple[Engine, OrgSummary],
) -> None:
    engine, _ = generated
    with Session(engine) as session:
        merged = session.scalar(select(func.count()).where(PullRequest.merged_at.is_not(None)))
        merge_commits = session.scalar(
            select(func.count())
            .select_from(PullRequest)
            .join(
                Commit,
                and_(
                    Commit.sha == PullRequest.merge_commit_sha,
                    Commit.repository_id == PullRequest.repository_id,
                ),
            )
            .where(Commit.is_merge.is_(True))
        )
        assert merged and merge_commits == merged
        assert _missing_merged_commits(session) == 0
        assert session.scalar(select(func.count()).where(Identity.is_bot.is_(True))) == 2
        _assert_memberships_do_not_overlap(session)


def _missing_merged_commits(session: Session) -> int:
    """Commits that merged pull requests list but the repository lacks."""
    listed = aliased(Commit)
    return (
        session.scalar(
            select(func.count())
            .select_from(PullRequestCommit)
            .join(PullRequest, PullRequest.id == PullRequestCommit.pull_request_id)
            .outerjoin(
                listed,
                and_(
                    listed.sha == PullRequestCommit.sha,
                    listed.repository_id == PullRequest.repository_id,
                ),
            )
            .where(PullRequest.merged_at.is_not(None), listed.id.is_(None))
        )
        or 0
    )


def _assert_memberships_do_not_overlap(session: Session) -> None:
    stays: dict[tuple[str, str], list[tuple[datetime, datetime | None]]] = defaultdict(list)
    rows = session.execute(
        select(
            TeamMembership.team_id,
            TeamMembership.person_id,
            TeamMembership.valid_from,
            TeamMembership.valid_to,
        )
    )
    for team, person, start, end in rows:
        stays[team, person].append((start, end))
    assert len(stays) > 10
    for spans in stays.values():
        spans.sort()
        for (start, end), (next_start, _) in itertools.pairwise(spans):
            assert end is not None and start < end <= next_start


@pytest.mark.slow
def test_dora_reports_figures_for_the_organisation_and_a_team(
    generated: tuple[Engine, OrgSummary],
) -> None:
    engine, summary = generated
    year = Window(summary.end - timedelta(weeks=52), summary.end)
    with engine.begin() as connection:
        # Planner statistics, as autovacuum gives PostgreSQL after a load: without them both
        # engines choose nested loops that take a minute even at this scale (bench/README.md).
        connection.execute(text("ANALYZE"))
    with Session(engine) as session:
        org = dora_report(session, Scope(), year)
        team = dora_report(session, Scope(team=LEAVES[0]), year, bucket="week")
    assert org["deployment_frequency"]["deployments"] > 20
    assert org["lead_time_for_changes"]["median_hours"] is not None
    assert org["lead_time_for_changes"]["pull_requests"] > 0
    assert org["lead_time_for_changes"]["stages"]["pickup"]["median_hours"] is not None
    assert org["change_failure_rate"]["rate"] is not None
    assert org["change_failure_rate"]["failed"] > 0
    assert org["failed_deployment_recovery_time"]["median_hours"] is not None
    assert team["lead_time_for_changes"]["changes"] > 0
    assert len(team["buckets"]) == 52  # the history ends on a Monday: 52 whole weeks

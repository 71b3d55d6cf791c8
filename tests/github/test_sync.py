"""GitHub sync end to end against the fake server: what lands in silver, by hand-computed facts
of the fake's records (see `Examples.add_pull_request` and friends)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select

from diogen.connectors.github import DeploymentRules, GitHubConfig, GitHubConnector
from diogen.db import session_scope
from diogen.ingest.runner import SyncResult, run_sync
from diogen.silver import (
    Commit,
    Deployment,
    DeploymentCommit,
    Identity,
    PipelineJob,
    PipelineRun,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    ReviewComment,
)
from diogen.testing.fake_github import T0, FakeGitHub

Sync = Callable[..., SyncResult]

RULES = DeploymentRules(workflow_pattern="deploy", releases=True)


def count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def add_repo(fake: FakeGitHub, history: tuple[Path, list[str]], prs: int = 30) -> list[str]:
    path, shas = history
    repo = fake.examples.repository(
        "octo/app",
        clone_url=str(path),
        pull_requests=prs,
        deployments=3,
        releases=2,
        runs=3,
        shas=shas,
    )
    fake.add(repo)
    return shas


def test_pull_requests_with_reviews_commits_and_timeline(
    fake: FakeGitHub, history: tuple[Path, list[str]], sync: Sync, engine: Engine
) -> None:
    shas = add_repo(fake, history)
    result = sync(repos=["octo/app"])
    assert result.rejected == 0
    # 30 pull requests, 25 per GraphQL page: two queries.
    assert len(fake.requests("POST")) == 2
    assert result.summary["pull_requests"] == 30
    assert count(engine, PullRequest) == 30
    assert count(engine, Review) == 60 and count(engine, PullRequestCommit) == 60
    assert count(engine, ReviewComment) == 10  # pull requests 3, 6, ..., 30
    with session_scope(engine) as session:
        prs = {pr.number: pr for pr in session.scalars(select(PullRequest))}
        states = [prs[n].state for n in range(1, 9)]
        assert states == ["merged", "merged", "closed", "open"] * 2
        created = T0 + timedelta(hours=6 * 7)
        # Opened as a draft, ready three hours later; reviewed at +1 h, approved at +2 h.
        assert prs[7].ready_for_review_at == created + timedelta(hours=3)
        assert prs[7].first_review_at == created + timedelta(hours=1)
        assert prs[7].approved_at == created + timedelta(hours=2)
        assert prs[28].is_draft and prs[28].ready_for_review_at is None
        assert prs[1].ready_for_review_at == prs[1].created_at
        assert prs[1].merge_commit_sha == shas[1] and prs[1].labels == []
        assert prs[2].labels == ["bug"] and prs[2].merged_at == prs[2].created_at + timedelta(
            days=1
        )
        repo = session.scalars(select(Repository)).one()
        assert (repo.name, repo.default_branch) == ("octo/app", "main")
        assert prs[1].repository_id == repo.id
        bots = session.scalars(select(Identity.login).where(Identity.is_bot)).all()
        assert bots == ["dependabot[bot]"]
        author = session.get(Identity, prs[5].author_identity_id)
        assert author is not None and author.login == "dependabot[bot]"
        # The git history came from the clone, under the GitHub repository's id.
        assert session.scalar(select(func.count()).where(Commit.repository_id == repo.id)) == 10


def test_deployments_releases_and_runs_follow_the_rules(
    fake: FakeGitHub, history: tuple[Path, list[str]], sync: Sync, engine: Engine
) -> None:
    shas = add_repo(fake, history, prs=4)
    result = sync(repos=["octo/app"], rules=RULES)
    assert result.rejected == 0
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                Deployment.source, Deployment.environment, Deployment.sha, Deployment.status
            ).order_by(Deployment.finished_at)
        ).all()
        # Deployment 2 of 3 is to staging; run 2 of 3 is CI, not a deployment.
        github = f"github@{urlsplit(fake.url).netloc}"
        assert [tuple(r) for r in rows] == [
            (github, "production", shas[0], "success"),
            (github, "production", shas[2], "success"),
            (f"{github}:release", "production", shas[0], "success"),
            (f"{github}:release", "production", shas[1], "success"),
            (f"{github}:actions", "production", shas[0], "success"),
            (f"{github}:actions", "production", shas[2], "failure"),
        ]
        first = session.scalars(select(Deployment).order_by(Deployment.finished_at)).first()
        assert first is not None
        assert first.finished_at == T0 + timedelta(days=10, minutes=10)
        assert first.started_at == T0 + timedelta(days=10)
    # c0 by the first deployment, c1 and c2 by the second; later ones ship nothing new.
    assert count(engine, DeploymentCommit) == 3
    assert count(engine, PipelineRun) == 3 and count(engine, PipelineJob) == 6


def test_resync_with_nothing_new_spends_only_conditional_requests(
    fake: FakeGitHub, history: tuple[Path, list[str]], sync: Sync, engine: Engine
) -> None:
    add_repo(fake, history)
    sync(repos=["octo/app"], rules=RULES)
    sync(repos=["octo/app"], rules=RULES)  # settles the marks the first pass moved
    before = len(fake.log)
    result = sync(repos=["octo/app"], rules=RULES)
    assert result.records == 0
    assert {r.status for r in fake.log[before:]} == {304}
    assert result.summary["not_modified"] == result.summary["requests"] == len(fake.log) - before


def test_changed_pull_request_is_read_again(
    fake: FakeGitHub, history: tuple[Path, list[str]], sync: Sync, engine: Engine
) -> None:
    add_repo(fake, history)
    sync(repos=["octo/app"])
    repo = fake.repos["octo/app"]
    pr = repo.pulls[2]
    pr.update(title="Renamed", updated_at="2030-01-01T00:00:00Z")
    before = len(fake.requests("POST"))
    result = sync(repos=["octo/app"])
    # The changed one, and the last pass's newest (the mark is inclusive: equal times are safe).
    assert result.summary["pull_requests"] == 2
    assert len(fake.requests("POST")) - before == 1
    with session_scope(engine) as session:
        stored = session.scalars(select(PullRequest).where(PullRequest.number == 3)).one()
    assert stored.title == "Renamed"


def test_nested_lists_beyond_one_page_are_read_in_full(
    fake: FakeGitHub, history: tuple[Path, list[str]], sync: Sync, engine: Engine
) -> None:
    shas = history[1]
    fake.add(
        fake.examples.repository("octo/big", pull_requests=2, reviews=120, commits=3, shas=shas)
    )
    result = sync(repos=["octo/big"], clone=False)
    # Each pull request: 50 reviews on its page, then 70 more in one follow-up query.
    assert result.summary["pull_request_overflow_pages"] == 2
    assert count(engine, Review) == 240


def test_organisation_scope_and_enterprise_urls(
    shared_data: Path, engine: Engine, tmp_path: Path
) -> None:

    with FakeGitHub(shared_data, prefix="/api/v3") as fake:
        for name in ("acme/one", "acme/two"):
            fake.add(fake.examples.repository(name, pull_requests=3))
        config = GitHubConfig(
            org="acme", api_url=fake.url, tokens=["t"], clone=False, cache_dir=tmp_path
        )
        assert config.graphql_endpoint == f"{fake.root}/api/graphql"
        result = run_sync(engine, GitHubConnector(config))
    assert result.summary["repositories"] == 2
    assert count(engine, PullRequest) == 6
    with session_scope(engine) as session:
        assert set(session.scalars(select(Repository.name))) == {"acme/one", "acme/two"}

"""Check runs and commit statuses of the default branch's newest commits: the CI that is not
GitHub Actions, read until each commit's checks have finished, then never again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from diogen.db import session_scope
from diogen.ingest.runner import SyncResult
from diogen.silver import PipelineRun
from diogen.testing.fake_github import FakeGitHub, FakeRepo

Sync = Callable[..., SyncResult]
AT = datetime(2024, 2, 1, 12, tzinfo=UTC)
S1, S2, S3 = ("1" * 40, "2" * 40, "3" * 40)


def ci_repo(fake: FakeGitHub) -> FakeRepo:
    repo = fake.add(fake.examples.repository("octo/app"))
    repo.branch_commits = [S3, S2, S1]
    add = fake.examples
    add.add_check_run(repo, S1, "circleci: build", app="circleci", at=AT)
    add.add_check_run(repo, S1, "build", app="github-actions", at=AT)  # read as a workflow job
    add.add_commit_status(repo, S1, "ci/jenkins", "pending", AT)
    add.add_commit_status(repo, S1, "ci/jenkins", "success", AT + timedelta(minutes=5))
    add.add_commit_status(repo, S2, "ci/jenkins", "error", AT + timedelta(hours=1))
    add.add_check_run(repo, S3, "circleci: build", app="circleci", at=AT, conclusion=None)
    return repo


def runs(engine: Engine) -> set[tuple[str, str, str, str, str | None, datetime | None]]:
    with session_scope(engine) as session:
        rows = session.scalars(select(PipelineRun).where(PipelineRun.source.like("%:%"))).all()
        return {
            (
                r.source.split(":")[-1],
                r.sha[:1],
                r.name or "",
                r.status,
                r.conclusion,
                r.finished_at,
            )
            for r in rows
        }


def checks_requests(fake: FakeGitHub) -> list[tuple[str, int]]:
    return [(r.path.rsplit("/", 1)[-1], r.status) for r in fake.log if "/commits" in r.path]


def test_checks_and_statuses_until_finished(fake: FakeGitHub, sync: Sync, engine: Engine) -> None:
    repo = ci_repo(fake)
    first = sync(repos=["octo/app"], clone=False, checks=True)
    assert first.summary["commit_checks"] == 3
    assert runs(engine) == {
        ("checks", "1", "circleci: build", "completed", "success", AT + timedelta(minutes=4)),
        ("checks", "3", "circleci: build", "in_progress", None, None),
        # A context's latest state; it ran from its first status to its last.
        ("statuses", "1", "ci/jenkins", "completed", "success", AT + timedelta(minutes=5)),
        ("statuses", "2", "ci/jenkins", "completed", "failure", AT + timedelta(hours=1)),
    }
    fake.log.clear()
    sync(repos=["octo/app"], clone=False, checks=True)
    # The list is unchanged (304); only the commit still running is read again.
    assert checks_requests(fake) == [("commits", 304), ("check-runs", 200), ("statuses", 200)]
    repo.check_runs[S3][0].update(status="completed", conclusion="failure")
    sync(repos=["octo/app"], clone=False, checks=True)
    assert ("checks", "3", "circleci: build", "completed", "failure", None) in runs(engine)
    fake.log.clear()
    sync(repos=["octo/app"], clone=False, checks=True)
    assert checks_requests(fake) == [("commits", 304)]


def test_checks_are_off_by_default(fake: FakeGitHub, sync: Sync) -> None:
    ci_repo(fake)
    sync(repos=["octo/app"], clone=False)
    assert checks_requests(fake) == []

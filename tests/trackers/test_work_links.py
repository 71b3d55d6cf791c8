"""Links between work and code, recomputed when either side arrives, and issue lead time to
the first production deployment of a linked change (golden numbers, SQLite and PostgreSQL).

The repository (tags are releases, so deployments to production):
- c1 "ENG-1: read teams" 03-06, c2 "Refactor the client" 03-07; v1.0 tagged 03-09 12:00;
- c3 "Fix cycles (eng-3)" 03-11 (any case counts for a known project), c4 "Handle UTF-8 and
  SHA-256 names" 03-11 (no issue); v1.1 tagged 03-13 09:00;
- after the Linear sync: c5 "ENG-2 carry cycles over" 03-20; v1.2 tagged 03-21 10:00;
- pull request #7 from `feature/eng-5-cycles`, merged as c4.
"""

from __future__ import annotations

from pathlib import Path

from linear_cases import utc
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tracker_support import Sync

from diogen.connectors.git import GitConfig, GitConnector
from diogen.db import upsert
from diogen.ingest.runner import run_sync
from diogen.metrics.flow import issue_flow
from diogen.metrics.window import Window
from diogen.silver import Commit, Issue, PullRequest, Repository, WorkLink
from diogen.silver.base import table_of
from diogen.silver.work_links import link_work
from diogen.testing.gitrepo import GitRepo

MARCH = Window(utc("2024-03-01T00:00"), utc("2024-04-01T00:00"))


def links(engine: Engine) -> set[tuple[str, str, str]]:
    """(issue key, found in, commit message or pull request title)."""
    with Session(engine) as session:
        rows = session.execute(
            select(WorkLink.issue_key, WorkLink.found_in, Commit.message, PullRequest.title)
            .outerjoin(Commit, Commit.id == WorkLink.commit_id)
            .outerjoin(PullRequest, PullRequest.id == WorkLink.pull_request_id)
        )
        return {
            (key, where, (message or title or "").strip()) for key, where, message, title in rows
        }


def git_sync(engine: Engine, repo: GitRepo, tmp_path: Path) -> None:
    config = GitConfig(location=str(repo.path), name="app", cache_dir=tmp_path / "cache")
    run_sync(engine, GitConnector(config))


def test_links_both_ways_and_lead_time_to_deployment(
    engine: Engine, linear_sync: Sync, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "app")
    repo.commit("Initial commit", utc("2024-03-01T09:00"))
    repo.commit("ENG-1: read teams", utc("2024-03-06T10:00"))
    repo.commit("Refactor the client", utc("2024-03-07T10:00"))
    repo.tag("v1.0", when=utc("2024-03-09T12:00"), message="v1.0")
    repo.commit("Fix cycles (eng-3)", utc("2024-03-11T10:00"))
    merged = repo.commit("Handle UTF-8 and SHA-256 names", utc("2024-03-11T11:00"))
    repo.tag("v1.1", when=utc("2024-03-13T09:00"), message="v1.1")
    git_sync(engine, repo, tmp_path)
    assert links(engine) == set()  # no issue known yet
    linear_sync()  # the issues arrive: every change is read for them
    assert links(engine) == {
        ("ENG-1", "message", "ENG-1: read teams"),
        ("ENG-3", "message", "Fix cycles (eng-3)"),
    }
    repo.commit("ENG-2 carry cycles over", utc("2024-03-20T13:00"))
    repo.tag("v1.2", when=utc("2024-03-21T10:00"), message="v1.2")
    git_sync(engine, repo, tmp_path)  # a change arrives: its repository is read again
    with Session(engine) as session:
        repository = session.scalars(select(Commit.repository_id)).first()
        pull = {
            "id": "pr-7",
            "repository_id": repository,
            "number": 7,
            "title": "Cycles",
            "state": "merged",
            "is_draft": False,
            "head_ref": "feature/eng-5-cycles",
            "created_at": utc("2024-03-11T09:00"),
            "merged_at": utc("2024-03-11T11:00"),
            "merge_commit_sha": merged,
            "source": "test",
        }
        upsert(session, table_of(PullRequest), [pull])
        assert link_work(session, repositories=[repository])["work_links"] == 4
        session.commit()
    linear_sync()  # again: the same links
    assert links(engine) == {
        ("ENG-1", "message", "ENG-1: read teams"),
        ("ENG-2", "message", "ENG-2 carry cycles over"),
        ("ENG-3", "message", "Fix cycles (eng-3)"),
        ("ENG-5", "branch", "Cycles"),
    }
    check_lead_time_to_deployment(engine)


def check_lead_time_to_deployment(engine: Engine) -> None:
    with Session(engine) as session:
        report = issue_flow(session, None, MARCH, explain=True, now=utc("2024-04-01T00:00"))
    figures = report["issues"]
    # Created → first release containing a linked change: ENG-1 03-01 10:00 → v1.0 03-09
    # 12:00 = 194 h; ENG-3 03-05 10:00 → v1.1 03-13 09:00 = 191 h; ENG-5 03-02 10:00 → v1.1
    # (its pull request's merge commit) = 263 h; ENG-2 03-01 11:00 → v1.2 03-21 10:00 = 479 h.
    # Sorted [191, 194, 263, 479]: median 228.5; p75 rank 2.25 → 263 + 0.25 x 216 = 317;
    # p90 rank 2.7 → 263 + 0.7 x 216 = 414.2.
    assert figures["lead_time_to_deployment"] == {
        "issues": 4,
        "median_hours": 228.5,
        "p75_hours": 317.0,
        "p90_hours": 414.2,
    }
    rows = {row["key"]: row for row in report["evidence"]["issues"]["issues"]}
    assert (rows["ENG-1"]["deployed_at"], rows["ENG-1"]["lead_time_to_deployment_hours"]) == (
        "2024-03-09T12:00:00Z",
        194.0,
    )
    assert {key for key, row in rows.items() if row["deployed_at"] is None} == set()
    with Session(engine) as session:  # the releases are production; nothing reached staging
        staging = issue_flow(
            session, None, MARCH, production_environment="^staging$", now=utc("2024-04-01T00:00")
        )
    assert staging["issues"]["lead_time_to_deployment"]["issues"] == 0
    with Session(engine) as session:
        assert len(session.scalars(select(Issue)).all()) == 6


def test_a_pull_request_body_names_an_issue(engine: Engine) -> None:
    with Session(engine) as session:
        issue = {"id": "is-9", "key": "ENG-9", "source": "linear@acme", "created_at": MARCH.start}
        upsert(session, table_of(Issue), [issue])
        repository = {"id": "repo-app", "provider": "github", "name": "app", "source": "github"}
        upsert(session, table_of(Repository), [repository])
        pull = {
            "id": "pr-8",
            "repository_id": "repo-app",
            "number": 8,
            "title": "Tidy the client",
            "body": "Groundwork for eng-9.\n\nAlso touches SHA-256 handling.",
            "state": "open",
            "is_draft": False,
            "head_ref": "tidy",
            "created_at": MARCH.start,
            "source": "github",
        }
        upsert(session, table_of(PullRequest), [pull])
        assert link_work(session, repositories=["repo-app"])["work_links"] == 1
        session.commit()
    assert links(engine) == {("ENG-9", "body", "Tidy the client")}
    with Session(engine) as session:  # a key-scoped recompute (a webhook's issue) finds it too
        assert link_work(session, keys=["ENG-9"])["work_links"] == 1

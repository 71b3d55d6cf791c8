"""`diogen export`: every silver entity as CSV or JSON Lines, with names for foreign keys."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

import diogen.ingest.models
import diogen.silver
from diogen.cli import app
from diogen.cli.export import _replacing
from diogen.db import make_engine, session_scope
from diogen.errors import InputError, NotFoundError
from diogen.migrations import upgrade
from diogen.silver import (
    Base,
    Commit,
    CommitFile,
    Deployment,
    DeploymentCommit,
    GitRef,
    Identity,
    Incident,
    Issue,
    IssueStatusTransition,
    Organization,
    Person,
    PipelineJob,
    PipelineRun,
    PullRequest,
    PullRequestCommit,
    PullRequestEvent,
    PullRequestReviewers,
    Repository,
    Review,
    ReviewComment,
    Service,
    ServiceRepository,
    Sprint,
    SprintScopeChange,
    Team,
    TeamMembership,
    WorkLink,
)
from diogen.silver import export as silver_export
from diogen.silver.export import (
    ENTITIES,
    ENTITY_NAMES,
    NATURAL_KEYS,
    open_export,
    write_csv,
    write_jsonl,
)

T = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
SHA_A, SHA_B, SHA_C, SHA_D = ("a" * 40, "b" * 40, "c" * 40, "d" * 40)
MESSAGE = 'Fix "parser", again\n\nBody line, with a comma; and ünïcode.\n'

# For `--repo flask`: the ids each repository-related entity keeps. Every other entity refuses.
IN_FLASK = {
    "repositories": ["repo-flask"],
    "services": ["svc-api"],
    "service_repositories": ["sr-1"],
    "refs": ["ref-flask"],
    "commits": ["c-1", "c-2"],
    "commit_files": ["cf-1", "cf-2"],
    "pull_requests": ["pr-7"],
    "pull_request_commits": ["prc-1"],
    "pull_request_events": ["pre-1"],
    "pull_request_reviewers": ["prr-1"],
    "reviews": ["rv-1"],
    "review_comments": ["rc-1"],
    "pipeline_runs": ["run-1"],
    "pipeline_jobs": ["job-1"],
    "deployments": ["dep-1"],
    "deployment_commits": ["dc-1"],
    "incidents": ["inc-1"],
    "work_links": ["wl-1"],
}


def _seed(session: Session) -> None:
    """A small world: two repositories, so that --repo has something to leave out."""
    stages: list[list[Base]] = [
        [
            Organization(id="org-acme", name="acme", source="manual"),
            Person(id="p-ada", display_name="Ada Lovelace", primary_email="ada@example.com"),
            Sprint(id="sp-1", board="ENG", name="Sprint 1", source="jira", external_id="42"),
        ],
        [
            Team(id="t-core", organization_id="org-acme", name="core", source="manual"),
            Identity(
                id="id-ada-git",
                person_id="p-ada",
                provider="git",
                key="ada@example.com",
                email="ada@example.com",
                name="Ada Lovelace",
                source="git",
            ),
            Identity(
                id="id-ada-gh",
                person_id="p-ada",
                provider="github",
                key="1001",
                login="ada",
                name="Ada L.",
                source="github",
            ),
            Identity(id="id-bob-gh", provider="github", key="1002", login="bob", source="github"),
        ],
        [
            TeamMembership(
                id="tm-1", team_id="t-core", person_id="p-ada", role="lead", valid_from=T
            ),
            Repository(
                id="repo-flask",
                organization_id="org-acme",
                owning_team_id="t-core",
                provider="git",
                name="flask",
                default_branch="main",
                location="/src/flask",
                source="git",
            ),
            Repository(id="repo-other", provider="git", name="other", source="git"),
            Service(id="svc-api", organization_id="org-acme", name="api", source="manual"),
            Service(id="svc-web", name="web", source="manual"),
            Issue(
                id="is-1",
                key="ENG-1",
                project="ENG",
                title="Crash on parse",
                type="Bug",
                status="Done",
                status_category="done",
                story_points=3.0,
                assignee_identity_id="id-ada-gh",
                sprint_id="sp-1",
                created_at=T,
                resolved_at=T + timedelta(days=3),
                source="jira",
                external_id="10001",
            ),
        ],
        [
            ServiceRepository(id="sr-1", service_id="svc-api", repository_id="repo-flask"),
            GitRef(
                id="ref-flask",
                repository_id="repo-flask",
                name="v1.0.0",
                kind="tag",
                commit_sha=SHA_A,
            ),
            GitRef(
                id="ref-other",
                repository_id="repo-other",
                name="main",
                kind="branch",
                commit_sha=SHA_D,
            ),
            Commit(
                id="c-1",
                repository_id="repo-flask",
                sha=SHA_A,
                parents="",
                author_identity_id="id-ada-git",
                committer_identity_id="id-ada-git",
                author_name="Ada Lovelace",
                author_email="ada@example.com",
                committer_name="Ada Lovelace",
                committer_email="ada@example.com",
                # Written at +02:00: exported in UTC.
                authored_at=datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
                author_tz_offset=120,
                committed_at=T + timedelta(hours=1),
                committer_tz_offset=0,
                subject='Fix "parser", again',
                message=MESSAGE,
                additions=10,
                deletions=2,
                files_changed=2,
                is_merge=False,
                reachable=True,
            ),
            Commit(
                id="c-2",
                repository_id="repo-flask",
                sha=SHA_B,
                parents=f"{SHA_A} {SHA_C}",
                author_name="Grace Hopper",
                author_email="grace@example.com",
                committer_name="Grace Hopper",
                committer_email="grace@example.com",
                authored_at=T + timedelta(days=1),
                author_tz_offset=0,
                committed_at=T + timedelta(days=1),
                committer_tz_offset=0,
                subject="Merge branch 'fix'",
                message="Merge branch 'fix'\n",
                is_merge=True,
                reachable=True,
            ),
            Commit(
                id="c-3",
                repository_id="repo-other",
                sha=SHA_D,
                author_name="Ada Lovelace",
                author_email="ada@example.com",
                committer_name="Ada Lovelace",
                committer_email="ada@example.com",
                authored_at=T,
                author_tz_offset=0,
                committed_at=T,
                committer_tz_offset=0,
                subject="Initial",
                message="Initial\n",
                additions=1,
                deletions=0,
                files_changed=1,
                is_merge=False,
                reachable=False,
            ),
            PullRequest(
                id="pr-7",
                repository_id="repo-flask",
                number=7,
                title="Fix parser",
                author_identity_id="id-ada-gh",
                state="merged",
                base_ref="main",
                head_ref="fix",
                created_at=T,
                merged_at=T + timedelta(days=2),
                merge_commit_sha=SHA_B,
                additions=10,
                deletions=2,
                labels=["bug", "ui"],
                source="github",
                external_id="5007",
                url="https://github.com/acme/flask/pull/7",
            ),
            PullRequest(
                id="pr-1",
                repository_id="repo-other",
                number=1,
                state="open",
                created_at=T,
                source="github",
            ),
            PipelineRun(
                id="run-1",
                repository_id="repo-flask",
                name="ci",
                sha=SHA_A,
                status="completed",
                conclusion="success",
                source="github-actions",
                external_id="77",
            ),
            PipelineRun(
                id="run-2",
                repository_id="repo-other",
                status="queued",
                source="github-actions",
                external_id="78",
            ),
            Deployment(
                id="dep-1",
                repository_id="repo-flask",
                service_id="svc-api",
                environment="production",
                sha=SHA_A,
                ref_name="v1.0.0",
                status="success",
                started_at=T + timedelta(days=2),
                finished_at=T + timedelta(days=2, minutes=10),
                is_rollback=False,
                source="git",
                external_id="flask@v1.0.0",
            ),
            Deployment(
                id="dep-2",
                repository_id="repo-other",
                environment="production",
                sha=SHA_D,
                status="success",
                source="git",
                external_id="other@v0.1",
            ),
        ],
        [
            CommitFile(
                id="cf-1",
                commit_id="c-1",
                path="src/parser.py",
                additions=8,
                deletions=2,
                is_binary=False,
            ),
            CommitFile(
                id="cf-2",
                commit_id="c-1",
                path="docs/naïve, guide.md",
                old_path="docs/old.md",
                additions=2,
                deletions=0,
                is_binary=False,
            ),
            CommitFile(
                id="cf-3",
                commit_id="c-3",
                path="logo.png",
                additions=0,
                deletions=0,
                is_binary=True,
            ),
            PullRequestCommit(id="prc-1", pull_request_id="pr-7", sha=SHA_A),
            PullRequestCommit(id="prc-2", pull_request_id="pr-1", sha=SHA_D),
            PullRequestEvent(
                id="pre-1",
                pull_request_id="pr-7",
                kind="review_requested",
                occurred_at=datetime(2024, 1, 2, 4, tzinfo=UTC),
                reviewer="ada",
                reviewer_identity_id=None,
            ),
            PullRequestReviewers(id="prr-1", pull_request_id="pr-7", requested=["team:core"]),
            Review(
                id="rv-1",
                pull_request_id="pr-7",
                reviewer_identity_id="id-bob-gh",
                state="APPROVED",
                submitted_at=T + timedelta(days=1),
                source="github",
                external_id="9001",
            ),
            Review(id="rv-2", pull_request_id="pr-1", state="COMMENTED", source="github"),
            PipelineJob(
                id="job-1",
                pipeline_run_id="run-1",
                name="test",
                status="completed",
                source="github-actions",
            ),
            PipelineJob(
                id="job-2",
                pipeline_run_id="run-2",
                name="test",
                status="queued",
                source="github-actions",
            ),
            DeploymentCommit(id="dc-1", deployment_id="dep-1", commit_id="c-1"),
            DeploymentCommit(id="dc-2", deployment_id="dep-2", commit_id="c-3"),
            Incident(
                id="inc-1",
                title="API down",
                severity="SEV1",
                status="resolved",
                service_id="svc-api",
                repository_id="repo-flask",
                deployment_id="dep-1",
                started_at=T + timedelta(days=3),
                resolved_at=T + timedelta(days=3, hours=2),
                evidence={"rule": "explicit-link", "shas": [SHA_A], "confidence": 1.0},
                source="pagerduty",
                external_id="P123",
            ),
            Incident(id="inc-2", started_at=T, source="pagerduty", external_id="P124"),
            IssueStatusTransition(
                id="ist-1",
                issue_id="is-1",
                from_status="To Do",
                to_status="In Progress",
                to_category="in_progress",
                author_identity_id="id-ada-gh",
                changed_at=T + timedelta(hours=5),
            ),
            SprintScopeChange(
                id="ssc-1",
                sprint_id="sp-1",
                issue_id="is-1",
                change="added",
                story_points=3.0,
                changed_at=T,
            ),
        ],
        [
            WorkLink(
                id="wl-1",
                issue_id="is-1",
                issue_key="ENG-1",
                repository_id="repo-flask",
                pull_request_id="pr-7",
                found_in="title",
            ),
            ReviewComment(
                id="rc-1",
                pull_request_id="pr-7",
                review_id="rv-1",
                author_identity_id="id-bob-gh",
                path="src/parser.py",
                created_at=T + timedelta(days=1),
                source="github",
                external_id="9100",
            ),
        ],
    ]
    # Stage by stage: without relationships the ORM does not order inserts by foreign key.
    for stage in stages:
        session.add_all(stage)
        session.flush()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_scope(engine) as session:
        _seed(session)
        yield session


def _csv(session: Session, entity: str, repo: str | None = None) -> list[dict[str, str]]:
    prepared = open_export(session, entity, repo=repo)
    stream = io.StringIO(newline="")
    count = write_csv(prepared, stream)
    reader = csv.reader(io.StringIO(stream.getvalue(), newline=""))
    header, *rows = list(reader)
    assert tuple(header) == prepared.columns
    assert count == len(rows)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _jsonl(session: Session, entity: str, repo: str | None = None) -> list[dict[str, Any]]:
    prepared = open_export(session, entity, repo=repo)
    stream = io.StringIO()
    count = write_jsonl(prepared, stream)
    rows = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert count == len(rows)
    assert all(tuple(row) == prepared.columns for row in rows)
    return rows


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}


# --- exact values --------------------------------------------------------------------------


def test_commits_as_csv(session: Session) -> None:
    rows = _csv(session, "commits")
    assert [row["id"] for row in rows] == ["c-1", "c-2", "c-3"]
    assert rows[0] == {
        "id": "c-1",
        "repository": "flask",
        "sha": SHA_A,
        "parents": "",
        "author_name": "Ada Lovelace",
        "author_email": "ada@example.com",
        "author_login": "",
        "committer_name": "Ada Lovelace",
        "committer_email": "ada@example.com",
        "committer_login": "",
        "authored_at": "2024-01-02T03:04:05Z",
        "author_tz_offset": "120",
        "committed_at": "2024-01-02T04:04:05Z",
        "committer_tz_offset": "0",
        "subject": 'Fix "parser", again',
        "message": MESSAGE,
        "additions": "10",
        "deletions": "2",
        "files_changed": "2",
        "is_merge": "false",
        "reachable": "true",
    }
    merge = rows[1]
    # The commit's own name and address, even with no identity behind them.
    assert (merge["parents"], merge["author_email"], merge["additions"], merge["is_merge"]) == (
        f"{SHA_A} {SHA_C}",
        "grace@example.com",
        "",
        "true",
    )


def test_commits_as_jsonl(session: Session) -> None:
    rows = _by_id(_jsonl(session, "commits"))
    assert rows["c-1"] == {
        "id": "c-1",
        "repository": "flask",
        "sha": SHA_A,
        "parents": "",
        "author_name": "Ada Lovelace",
        "author_email": "ada@example.com",
        "author_login": None,
        "committer_name": "Ada Lovelace",
        "committer_email": "ada@example.com",
        "committer_login": None,
        "authored_at": "2024-01-02T03:04:05Z",
        "author_tz_offset": 120,
        "committed_at": "2024-01-02T04:04:05Z",
        "committer_tz_offset": 0,
        "subject": 'Fix "parser", again',
        "message": MESSAGE,
        "additions": 10,
        "deletions": 2,
        "files_changed": 2,
        "is_merge": False,
        "reachable": True,
    }
    assert rows["c-2"]["author_name"] == "Grace Hopper"
    assert rows["c-2"]["files_changed"] is None
    assert rows["c-3"]["reachable"] is False


def test_commit_files(session: Session) -> None:
    assert _csv(session, "commit_files") == [
        {
            "id": "cf-1",
            "repository": "flask",
            "commit_sha": SHA_A,
            "path": "src/parser.py",
            "old_path": "",
            "additions": "8",
            "deletions": "2",
            "is_binary": "false",
        },
        {
            "id": "cf-2",
            "repository": "flask",
            "commit_sha": SHA_A,
            "path": "docs/naïve, guide.md",
            "old_path": "docs/old.md",
            "additions": "2",
            "deletions": "0",
            "is_binary": "false",
        },
        {
            "id": "cf-3",
            "repository": "other",
            "commit_sha": SHA_D,
            "path": "logo.png",
            "old_path": "",
            "additions": "0",
            "deletions": "0",
            "is_binary": "true",
        },
    ]


def test_pull_request_labels_are_json_text_in_csv_and_a_list_in_jsonl(session: Session) -> None:
    as_csv = _by_id(_csv(session, "pull_requests"))
    assert as_csv["pr-7"] == {
        "id": "pr-7",
        "repository": "flask",
        "number": "7",
        "title": "Fix parser",
        "body": "",
        "author_name": "Ada L.",
        "author_email": "",
        "author_login": "ada",
        "state": "merged",
        "is_draft": "false",
        "base_ref": "main",
        "head_ref": "fix",
        "created_at": "2024-01-02T03:04:05Z",
        "ready_for_review_at": "",
        "first_review_at": "",
        "approved_at": "",
        "merged_at": "2024-01-04T03:04:05Z",
        "closed_at": "",
        "merge_commit_sha": SHA_B,
        "additions": "10",
        "deletions": "2",
        "labels": '["bug", "ui"]',
        "source": "github",
        "external_id": "5007",
        "url": "https://github.com/acme/flask/pull/7",
    }
    assert as_csv["pr-1"]["labels"] == ""
    as_jsonl = _by_id(_jsonl(session, "pull_requests"))
    assert as_jsonl["pr-7"]["labels"] == ["bug", "ui"]
    assert as_jsonl["pr-7"]["number"] == 7
    assert as_jsonl["pr-1"]["labels"] is None


def test_reviews_and_comments_name_their_pull_request_and_people(session: Session) -> None:
    assert _by_id(_jsonl(session, "reviews"))["rv-1"] == {
        "id": "rv-1",
        "repository": "flask",
        "pull_request_number": 7,
        "reviewer_name": None,
        "reviewer_email": None,
        "reviewer_login": "bob",
        "state": "APPROVED",
        "submitted_at": "2024-01-03T03:04:05Z",
        "source": "github",
        "external_id": "9001",
        "url": None,
    }
    assert _jsonl(session, "review_comments") == [
        {
            "id": "rc-1",
            "repository": "flask",
            "pull_request_number": 7,
            "review_id": "rv-1",
            "review_external_id": "9001",
            "author_name": None,
            "author_email": None,
            "author_login": "bob",
            "path": "src/parser.py",
            "created_at": "2024-01-03T03:04:05Z",
            "source": "github",
            "external_id": "9100",
            "url": None,
        }
    ]


def test_deployments_and_their_commits(session: Session) -> None:
    assert _by_id(_jsonl(session, "deployments"))["dep-1"] == {
        "id": "dep-1",
        "repository": "flask",
        "service": "api",
        "environment": "production",
        "sha": SHA_A,
        "ref_name": "v1.0.0",
        "status": "success",
        "started_at": "2024-01-04T03:04:05Z",
        "finished_at": "2024-01-04T03:14:05Z",
        "is_rollback": False,
        "marked_failed": None,
        "fixes_deployment_id": None,
        "fixes_deployment_environment": None,
        "fixes_deployment_ref_name": None,
        "fixes_deployment_external_id": None,
        "source": "git",
        "external_id": "flask@v1.0.0",
        "url": None,
    }
    assert _csv(session, "deployment_commits") == [
        {
            "id": "dc-1",
            "repository": "flask",
            "deployment_id": "dep-1",
            "deployment_environment": "production",
            "deployment_ref_name": "v1.0.0",
            "deployment_external_id": "flask@v1.0.0",
            "commit_sha": SHA_A,
        },
        {
            "id": "dc-2",
            "repository": "other",
            "deployment_id": "dep-2",
            "deployment_environment": "production",
            "deployment_ref_name": "",
            "deployment_external_id": "other@v0.1",
            "commit_sha": SHA_D,
        },
    ]


def test_incident_evidence_is_json_text_in_csv_and_an_object_in_jsonl(session: Session) -> None:
    evidence = {"rule": "explicit-link", "shas": [SHA_A], "confidence": 1.0}
    as_jsonl = _by_id(_jsonl(session, "incidents"))
    assert as_jsonl["inc-1"] == {
        "id": "inc-1",
        "title": "API down",
        "severity": "SEV1",
        "status": "resolved",
        "service": "api",
        "repository": "flask",
        "deployment_id": "dep-1",
        "deployment_environment": "production",
        "deployment_ref_name": "v1.0.0",
        "deployment_external_id": "flask@v1.0.0",
        "started_at": "2024-01-05T03:04:05Z",
        "detected_at": None,
        "resolved_at": "2024-01-05T05:04:05Z",
        "evidence": evidence,
        "source": "pagerduty",
        "external_id": "P123",
        "url": None,
    }
    assert as_jsonl["inc-2"]["service"] is None
    as_csv = _by_id(_csv(session, "incidents"))
    assert json.loads(as_csv["inc-1"]["evidence"]) == evidence
    assert as_csv["inc-2"]["evidence"] == ""


def test_issues_and_their_history(session: Session) -> None:
    assert _csv(session, "issues") == [
        {
            "id": "is-1",
            "key": "ENG-1",
            "project": "ENG",
            "title": "Crash on parse",
            "type": "Bug",
            "status": "Done",
            "status_category": "done",
            "story_points": "3.0",
            "assignee_name": "Ada L.",
            "assignee_email": "",
            "assignee_login": "ada",
            "parent_key": "",
            "epic_key": "",
            "sprint_id": "sp-1",
            "sprint": "Sprint 1",
            "created_at": "2024-01-02T03:04:05Z",
            "resolved_at": "2024-01-05T03:04:05Z",
            "source": "jira",
            "external_id": "10001",
            "url": "",
        }
    ]
    transition = _jsonl(session, "issue_status_transitions")[0]
    assert (transition["issue_key"], transition["to_status"], transition["author_login"]) == (
        "ENG-1",
        "In Progress",
        "ada",
    )
    change = _jsonl(session, "sprint_scope_changes")[0]
    assert (change["sprint"], change["issue_key"], change["story_points"]) == (
        "Sprint 1",
        "ENG-1",
        3.0,
    )


def test_people_and_teams(session: Session) -> None:
    identity = _by_id(_jsonl(session, "identities"))["id-ada-git"]
    assert (identity["person_id"], identity["person_name"], identity["person_email"]) == (
        "p-ada",
        "Ada Lovelace",
        "ada@example.com",
    )
    assert _jsonl(session, "teams")[0]["organization"] == "acme"
    membership = _jsonl(session, "team_memberships")[0]
    assert (membership["team"], membership["person_name"], membership["valid_to"]) == (
        "core",
        "Ada Lovelace",
        None,
    )
    repository = _by_id(_jsonl(session, "repositories"))["repo-flask"]
    assert (repository["organization"], repository["owning_team"]) == ("acme", "core")


def test_rows_stream_in_batches(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(silver_export, "YIELD_PER", 2)
    assert [row["id"] for row in _jsonl(session, "commit_files")] == ["cf-1", "cf-2", "cf-3"]


# --- --repo ---------------------------------------------------------------------------------


def test_repo_filter(session: Session, subtests: pytest.Subtests) -> None:
    for entity in ENTITY_NAMES:
        with subtests.test(entity=entity):
            if entity in IN_FLASK:
                ids = [row["id"] for row in _jsonl(session, entity, repo="flask")]
                assert ids == IN_FLASK[entity]
            else:
                with pytest.raises(InputError, match=rf"^{entity} do not belong to a repository"):
                    open_export(session, entity, repo="flask")


def test_repo_filter_keeps_the_other_repository_apart(session: Session) -> None:
    assert [row["id"] for row in _csv(session, "commits", repo="other")] == ["c-3"]
    assert [row["id"] for row in _csv(session, "services", repo="other")] == []


def test_unknown_repository(session: Session) -> None:
    with pytest.raises(NotFoundError, match="no repository named 'nope'"):
        open_export(session, "commits", repo="nope")


def test_unknown_entity_lists_the_valid_names(session: Session) -> None:
    with pytest.raises(InputError, match="unknown entity 'commmits'") as raised:
        open_export(session, "commmits")
    assert not isinstance(raised.value, NotFoundError)
    assert all(name in str(raised.value) for name in ENTITY_NAMES)


# --- every entity ---------------------------------------------------------------------------


def test_every_entity_exports_from_an_empty_database(
    engine: Engine, subtests: pytest.Subtests
) -> None:
    for entity in ENTITY_NAMES:
        with subtests.test(entity=entity), session_scope(engine) as session:
            prepared = open_export(session, entity)
            as_csv, as_jsonl = io.StringIO(), io.StringIO()
            assert write_csv(prepared, as_csv) == 0
            assert write_jsonl(prepared, as_jsonl) == 0
            assert as_csv.getvalue() == ",".join(prepared.columns) + "\n"
            assert as_jsonl.getvalue() == ""


def test_every_silver_model_is_exportable() -> None:
    models = {getattr(diogen.silver, name) for name in diogen.silver.__all__} - {Base}
    assert {entity.model for entity in ENTITIES.values()} == models


@pytest.mark.parametrize("entity", ENTITY_NAMES)
def test_every_reference_has_natural_columns_and_no_label_repeats(entity: str) -> None:
    named = {model.__table__ for model in NATURAL_KEYS}
    for column in ENTITIES[entity].table.columns:
        for foreign_key in column.foreign_keys:
            assert foreign_key.column.table in named, column
    with Session() as unbound:  # building the query needs no database
        columns = open_export(unbound, entity).columns
    assert columns[0] == "id"
    assert len(set(columns)) == len(columns)


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def cli_database(database_url: str) -> str:
    """A database made the way the CLI makes it (migrations), holding the seed rows."""
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        _seed(session)
    engine.dispose()
    return database_url


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["export", *args])


def test_cli_writes_csv_to_stdout_and_counts_on_stderr(cli_database: str) -> None:
    result = _run("commits", "--database", cli_database)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert [row["id"] for row in rows] == ["c-1", "c-2", "c-3"]
    assert rows[0]["message"] == MESSAGE
    assert result.stderr.strip() == "exported 3 commits"


def test_cli_writes_jsonl_of_one_repository_to_a_file(cli_database: str, tmp_path: Path) -> None:
    output = tmp_path / "files.jsonl"
    result = _run(
        "commit_files",
        "--format",
        "jsonl",
        "--repo",
        "flask",
        "--output",
        str(output),
        "--database",
        cli_database,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [(row["id"], row["path"]) for row in rows] == [
        ("cf-1", "src/parser.py"),
        ("cf-2", "docs/naïve, guide.md"),
    ]
    assert result.stderr.strip() == "exported 2 commit_files"


def test_cli_checks_its_arguments_before_touching_the_file(
    cli_database: str, tmp_path: Path
) -> None:
    output = tmp_path / "out" / "commits.csv"
    output.parent.mkdir()
    output.write_text("previous export\n")
    result = _run("commits", "--repo", "nope", "-o", str(output), "--database", cli_database)
    assert isinstance(result.exception, NotFoundError)
    assert output.read_text() == "previous export\n"
    assert [path.name for path in output.parent.iterdir()] == ["commits.csv"]


def test_a_failure_while_writing_keeps_the_previous_file(tmp_path: Path) -> None:
    output = tmp_path / "commits.csv"
    output.write_text("previous export\n")
    with pytest.raises(RuntimeError), _replacing(output) as stream:
        stream.write("half an export")
        raise RuntimeError("connection lost")
    assert output.read_text() == "previous export\n"
    assert [path.name for path in tmp_path.iterdir()] == ["commits.csv"]


def test_output_into_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="it is a directory"), _replacing(tmp_path):
        pass


def test_cli_rejects_an_unknown_format_as_bad_usage(sqlite_url: str) -> None:
    result = _run("commits", "--format", "xml", "--database", sqlite_url)
    assert result.exit_code == 2


def test_cli_reports_an_unknown_entity_in_one_line(sqlite_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from diogen.cli import main; main()",
            "export",
            "commmits",
            "--database",
            sqlite_url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2  # bad usage
    assert result.stdout == ""
    assert result.stderr.startswith("error: unknown entity 'commmits'; choose one of: ")
    assert result.stderr.count("\n") == 1

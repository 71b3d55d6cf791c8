"""GitHub issues as incidents, by label and issue-type rules, through to the DORA change
failure rate; every number is worked out by hand below. Each test runs on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from diogen.connectors.github.config import IssueRules
from diogen.connectors.github.context import RepoContext
from diogen.connectors.github.issues import references
from diogen.db import session_scope
from diogen.ingest.runner import SyncResult
from diogen.metrics import Scope, Window, dora_report
from diogen.silver import Incident, Issue
from diogen.testing.fake_github import FakeGitHub, FakeRepo

JANUARY = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
RULES = {"labels": ["incident"], "types": ["Outage"]}
Sync = Callable[..., SyncResult]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def repo(fake: FakeGitHub, history: tuple[Path, list[str]]) -> FakeRepo:
    """Deployments (see `Examples.add_deployment`): #1 production, sha c0, succeeded
    2024-01-11 00:10; #2 staging; #3 production, sha c2, succeeded 2024-01-13 00:10."""
    path, shas = history
    repo = fake.add(
        fake.examples.repository("octo/app", clone_url=str(path), deployments=3, shas=shas)
    )
    issue = fake.examples.add_issue
    # I1: names c2's sha, which deployment #3 shipped -> #3 (explicit). Restored in 3 h.
    issue(
        repo,
        1,
        labels=["incident", "sev2"],
        created=at("2024-01-13T02:00"),
        closed=at("2024-01-13T05:00"),
        body=f"Checkout fails since {shas[2]} went out. See octo/other#9 for a similar one.",
    )
    # I2: before any production deployment -> unattributed.
    issue(
        repo, 2, labels=["Incident"], created=at("2024-01-10T00:00"), closed=at("2024-01-10T01:00")
    )
    # A bug, not an incident: an issue row only.
    issue(repo, 3, labels=["bug"], created=at("2024-01-13T03:00"))
    # I4 by its issue type: a week after #3, beyond the 72 h window -> unattributed; still open.
    outage = issue(repo, 4, labels=[], created=at("2024-01-20T00:00"))
    outage["type"] = {"id": 1, "name": "Outage"}
    return repo


def cfr(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return dict(dora_report(session, Scope(), JANUARY)["change_failure_rate"])


def test_issues_named_by_the_rules_fail_the_deployment_they_name(
    repo: FakeRepo, sync: Sync, engine: Engine
) -> None:
    result = sync(repos=["octo/app"], incidents=RULES)
    assert result.summary["issues"] == 4 and result.summary["incidents"] == 3
    with session_scope(engine) as session:
        incidents = {i.external_id: i for i in session.scalars(select(Incident))}
        assert session.query(Issue).count() == 4  # pull requests in the issue list are skipped
        first = incidents["3000001"]
        assert (first.started_at, first.resolved_at) == (
            at("2024-01-13T02:00"),
            at("2024-01-13T05:00"),
        )
        assert (first.status, first.severity, first.title) == ("resolved", "sev2", "Issue 1")
        assert first.evidence is not None and first.evidence["rule"] == "label:incident"
        assert (
            first.evidence["issue"] == "octo/app#1"
            and first.evidence["sha"] == repo.deployments[0]["sha"]
        )
        assert "pull_requests" not in first.evidence  # octo/other#9 is another repository's
        assert incidents["3000004"].evidence["rule"] == "type:Outage"  # type: ignore[index]
        assert incidents["3000004"].resolved_at is None
    # Two production deployments (#1, #3); #3 failed (I1) -> 1 / 2. I2 and I4 unattributed.
    assert cfr(engine) == {
        "deployments": 2,
        "failed": 1,
        "rate": 0.5,
        "tier": "low",
        "incidents": 3,
        "unattributed_incidents": 2,
    }


def test_an_unlabelled_issue_stops_being_an_incident(
    fake: FakeGitHub, repo: FakeRepo, sync: Sync, engine: Engine
) -> None:
    sync(repos=["octo/app"], incidents=RULES)
    sync(repos=["octo/app"], incidents=RULES)  # from the moved mark: one full page
    fake.log.clear()
    again = sync(repos=["octo/app"], incidents=RULES)
    issue_requests = [r for r in fake.log if r.path.endswith("/issues")]
    assert [r.status for r in issue_requests] == [304] and "issues" not in again.summary
    fake.examples.update_issue(
        repo.issues[0], at=at("2024-01-21T00:00"), closed=at("2024-01-13T05:00"), labels=["sev2"]
    )
    result = sync(repos=["octo/app"], incidents=RULES)
    assert result.summary["incidents_removed"] == 1
    with session_scope(engine) as session:
        assert {i.external_id for i in session.scalars(select(Incident))} == {"3000002", "3000004"}
    assert cfr(engine)["failed"] == 0 and cfr(engine)["rate"] == 0.0


def test_no_rules_no_issue_requests(repo: FakeRepo, fake: FakeGitHub, sync: Sync) -> None:
    sync(repos=["octo/app"])
    assert not [r for r in fake.log if r.path.endswith("/issues")]


def test_references_in_an_issue_body() -> None:
    ctx = RepoContext("github", "Octo/App")
    sha = "a" * 40
    text = (
        f"Caused by https://github.com/octo/app/pull/12 (merged as {sha}); also #7 and "
        f"octo/app#7 and other/repo#3; not a sha: {'b' * 39} nor {'c' * 41}"
    )
    assert references(ctx, text) == {"shas": [sha], "pull_requests": [12, 7]}
    assert references(ctx, None) == {"shas": [], "pull_requests": []}


def test_rules_match_labels_and_types_case_insensitively() -> None:
    rules = IssueRules(labels=["Prod-Incident"], types=["outage"])
    assert rules.match({"labels": [{"name": "prod-incident"}]}) == "label:prod-incident"
    assert rules.match({"labels": [], "type": {"name": "Outage"}}) == "type:Outage"
    assert rules.match({"labels": [{"name": "bug"}], "type": None}) is None
    assert not IssueRules().active

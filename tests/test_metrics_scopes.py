"""Golden reports per organisation, team (membership at the time of the change) and service.

Each test runs on SQLite and on PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session
from test_metrics_support import Silver, utc

from diogen.errors import InputError, NotFoundError
from diogen.metrics import Scope, Window, dora_report

# Every scenario twice: matching from silver, and from refreshed gold rows.
pytestmark = pytest.mark.usefixtures("matching_source")

JANUARY = Window(utc("2024-01-01"), utc("2024-01-29"))


def _changes(report: dict[str, Any]) -> set[str]:
    return {c.get("sha") or c["pull_request"] for c in report["evidence"]["changes"]}


def _deployments(report: dict[str, Any]) -> list[str]:
    return [d["ref"] for d in report["evidence"]["deployments"]]


def build_teams(silver: Silver) -> None:
    acme = silver.org("acme")
    payments = silver.team("payments", org=acme)
    payments_api = silver.team("payments-api", org=acme, parent=payments)
    alice, bob, carol = silver.person("alice"), silver.person("bob"), silver.person("carol")
    # alice leaves payments on 01-15, the day bob joins its sub-team; carol never belongs.
    silver.member(payments, "alice", "2023-01-01", "2024-01-15")
    silver.member(payments_api, "bob", "2024-01-15")
    mono = silver.repo("mono", org=acme)

    def commit(sha: str, authored: str, author: str) -> str:
        return silver.commit(mono, sha, authored, author=author)

    c1, c2 = commit("c1", "2024-01-05", alice), commit("c2", "2024-01-06", carol)
    c3, c4 = commit("c3", "2024-01-20", alice), commit("c4", "2024-01-20", bob)
    c5 = commit("c5", "2024-01-24", carol)
    silver.deploy(mono, "D1", "2024-01-08", commits=[c1, c2])  # c1: alice was a member
    silver.deploy(mono, "D2", "2024-01-22", commits=[c3, c4])  # c4: bob, in the sub-team
    silver.deploy(mono, "D3", "2024-01-25", commits=[c5])  # nobody of the team
    owned = silver.repo("pay-svc", org=acme, team=payments_api)
    c6 = silver.commit(owned, "c6", "2024-01-25", author=carol)
    silver.deploy(owned, "D5", "2024-01-26", commits=[c6])  # the sub-team's repository
    other = silver.org("other")
    elsewhere = silver.repo("elsewhere", org=other)
    silver.deploy(
        elsewhere, "X1", "2024-01-10", commits=[silver.commit(elsewhere, "x", "2024-01-09")]
    )


def test_team_scope_follows_membership_at_the_time_of_each_change(session: Session) -> None:
    build_teams(Silver(session))
    report = dora_report(session, Scope(org="acme", team="payments"), JANUARY, explain=True)

    # Deployments: D1 (ships c1), D2 (ships c4), D5 (owned by the sub-team); not D3.
    assert _deployments(report) == ["D1", "D2", "D5"]
    # Changes: c1 (alice, member on 01-05): 01-05 -> 01-08 = 72 h; c4 (bob, sub-team since
    # 01-15): 01-20 -> 01-22 = 48 h. Not c2, c5, c6 (carol), nor c3 (alice had left).
    assert _changes(report) == {"c1", "c4"}
    assert report["lead_time_for_changes"]["median_hours"] == 60.0
    assert report["scope"] == {"org": "acme", "team": "payments"}
    # The sub-team alone: bob's change and its own repository.
    sub = dora_report(session, Scope(team="payments-api"), JANUARY, explain=True)
    assert (_deployments(sub), _changes(sub)) == (["D2", "D5"], {"c4"})


def test_a_membership_that_began_between_two_commits_of_one_deployment(session: Session) -> None:
    """Dan's commits in one deployment span his short membership: only a commit written
    inside it makes the deployment the team's (gold keeps first and last times per author,
    so this is the case it must ask silver about)."""
    silver = Silver(session)
    team = silver.team("payments")
    dan = silver.person("dan")
    silver.member(team, "dan", "2024-01-10", "2024-01-12")
    repo = silver.repo("svc")

    def commits(*dates: str) -> list[str]:
        return [silver.commit(repo, f"{day}-{n}", day, author=dan) for n, day in enumerate(dates)]

    silver.deploy(repo, "outside", "2024-01-20", commits=commits("2024-01-05", "2024-01-15"))
    silver.deploy(
        repo,
        "inside",
        "2024-01-21",
        commits=commits("2024-01-06", "2024-01-11T12:00", "2024-01-16"),
    )
    report = dora_report(session, Scope(team="payments"), JANUARY, explain=True)
    assert _deployments(report) == ["inside"]
    # Only the commit written while a member is a change of the team: 01-11 12:00 -> 01-21.
    assert report["lead_time_for_changes"]["changes"] == 1
    assert report["lead_time_for_changes"]["median_hours"] == 228.0


def test_organisation_scope(session: Session) -> None:
    build_teams(Silver(session))
    acme = dora_report(session, Scope(org="acme"), JANUARY, explain=True)
    assert _deployments(acme) == ["D1", "D2", "D3", "D5"]
    other = dora_report(session, Scope(org="other"), JANUARY, explain=True)
    assert _deployments(other) == ["X1"]
    everything = dora_report(session, Scope(), JANUARY)
    assert everything["deployment_frequency"]["deployments"] == 5


def test_service_of_a_monorepo_path(session: Session) -> None:
    silver = Silver(session)
    repo = silver.repo("mono2")
    web = silver.service("web", [(repo, "web/")])
    silver.service("api", [(repo, "api")])

    def commit(sha: str, *files: str) -> str:
        return silver.commit(repo, sha, "2024-01-10", files=files)

    w1, a1 = commit("w1", "web/app.js"), commit("a1", "api/main.py")
    both, lookalike = commit("both", "web/x.js", "api/y.py"), commit("lookalike", "webby/z")
    silver.deploy(repo, "W1", "2024-01-11", commits=[w1, a1, both, lookalike], service=web)
    silver.deploy(repo, "untagged", "2024-01-12", commits=[commit("u", "web/u.js")])

    report = dora_report(session, Scope(service="web"), JANUARY, explain=True)
    # Only the deployment tagged "web" (the service spans no repository whole), and only its
    # commits touching web/ ("webby/" is another directory).
    assert _deployments(report) == ["W1"]
    assert _changes(report) == {"w1", "both"}


def test_unknown_names_and_conflicting_scopes(session: Session) -> None:
    build_teams(Silver(session))
    with pytest.raises(NotFoundError, match="unknown team 'nobody'; known: payments"):
        dora_report(session, Scope(team="nobody"), JANUARY)
    with pytest.raises(NotFoundError, match="unknown organisation 'acme2'; known: acme, other"):
        dora_report(session, Scope(org="acme2"), JANUARY)
    with pytest.raises(NotFoundError, match="unknown service 'web'"):
        dora_report(session, Scope(service="web"), JANUARY)
    # The repository exists, but not in that organisation.
    with pytest.raises(NotFoundError, match="unknown repository 'elsewhere'"):
        dora_report(session, Scope(org="acme", repo="elsewhere"), JANUARY)
    with pytest.raises(InputError, match="choose one of team, repo and service"):
        Scope(team="payments", repo="mono")

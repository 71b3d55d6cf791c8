"""Golden change failure rate and recovery with incidents, rollbacks to older shas and redeploys.

Every expected number is worked out by hand in the comments; each test runs on SQLite and on
PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session
from test_metrics_support import Silver, utc

from diogen.errors import InputError
from diogen.ids import stable_id
from diogen.metrics import Scope, Window, dora_report
from diogen.metrics.incidents import attribute, load_incidents
from diogen.silver import PullRequest

# Every scenario twice: matching from silver, and from refreshed gold rows.
pytestmark = pytest.mark.usefixtures("matching_source")

JANUARY = Window(utc("2024-01-01"), utc("2024-01-29"))


def build_checkout(silver: Silver) -> dict[str, str]:
    """Service "checkout" (repository "inc"), its deployments and six incidents."""
    repo = silver.repo("inc")
    svc = silver.service("checkout", [(repo, "")])
    x1, x2 = silver.commit(repo, "x1", "2024-01-01T20:00"), silver.commit(repo, "x2", "2024-01-04")
    ids = {
        "D1": silver.deploy(repo, "v1", "2024-01-02T00:00", commits=[x1], sha="x1", service=svc),
        "D2": silver.deploy(repo, "v2", "2024-01-05T00:00", commits=[x2], sha="x2", service=svc),
        "D3": silver.deploy(repo, "v3", "2024-01-10T00:00", service=svc),
        "D4": silver.deploy(repo, "v4", "2024-01-15T00:00", service=svc),
    }

    def incident(name: str, started: str, resolved: str | None, **kw: object) -> None:
        ids[name] = silver.incident(name, None, started, resolved, service=svc, **kw)  # type: ignore[arg-type]

    incident("I0", "2024-01-01T12:00", "2024-01-01T13:00")  # before any deployment
    incident("I1", "2024-01-02T06:00", "2024-01-02T08:00")  # 6 h after D1 -> D1
    # Started after D3, but it names the commit x2, which D2 shipped -> D2.
    incident("I2", "2024-01-12T00:00", "2024-01-12T06:00", evidence={"sha": "x2"})
    incident("I3", "2024-01-10T01:00", "2024-01-10T03:00")  # two incidents on D3
    incident("I4", "2024-01-10T02:00", "2024-01-10T05:00")
    incident("I5", "2024-01-20T00:00", None)  # 120 h after D4: outside the 72 h window
    return ids


def test_golden_incident_attribution(session: Session) -> None:
    build_checkout(Silver(session))
    report = dora_report(session, Scope(service="checkout"), JANUARY)

    # Failed: D1 (I1), D2 (I2 by sha), D3 (I3 and I4, counted once); D4 none. 3 / 4 -> low.
    assert report["change_failure_rate"] == {
        "deployments": 4,
        "failed": 3,
        "rate": 0.75,
        "tier": "low",
        "incidents": 6,
        "unattributed_incidents": 2,
    }
    # Recovery: D1 -> I1 resolved 8 h; D2 -> I2 resolved 01-12 06:00 = 174 h; D3 -> restored
    # when the last of I3, I4 is resolved: 5 h. Sorted [5, 8, 174]: median 8; p75 rank 1.5 ->
    # 8 + 0.5 * 166 = 91; p90 rank 1.8 -> 8 + 0.8 * 166 = 140.8. 8 h -> high.
    # Time to restore, per incident: I0 1, I1 2, I2 6, I3 2, I4 3 (I5 open) -> [1, 2, 2, 3, 6]:
    # median 2, p75 rank 3 -> 3, p90 rank 3.6 -> 3 + 0.6 * 3 = 4.8.
    assert report["failed_deployment_recovery_time"] == {
        "failures": 3,
        "recovered": 3,
        "median_hours": 8.0,
        "p75_hours": 91.0,
        "p90_hours": 140.8,
        "tier": "high",
        "time_to_restore": {
            "incidents": 6,
            "restored": 5,
            "median_hours": 2.0,
            "p75_hours": 3.0,
            "p90_hours": 4.8,
        },
    }
    # Incidents are failures of a deployment, not fixes: no deployment here is rework.
    assert report["rework_rate"] == {"deployments": 4, "rework": 0, "rate": 0.0}


def test_incident_evidence_says_how_each_was_attributed(session: Session) -> None:
    ids = build_checkout(Silver(session))
    evidence = dora_report(session, Scope(service="checkout"), JANUARY, explain=True)["evidence"]
    incidents = {row["title"]: row for row in evidence["incidents"]}

    assert (incidents["I1"]["deployment_id"], incidents["I1"]["attributed_by"]) == (
        ids["D1"],
        "latest_deployment",
    )
    assert (incidents["I2"]["deployment_id"], incidents["I2"]["attributed_by"]) == (
        ids["D2"],
        "explicit_sha",
    )
    assert incidents["I0"]["deployment_id"] is None
    assert incidents["I0"]["reason"] == (
        "no successful production deployment of its service in the 72 h before it"
    )
    assert incidents["I5"]["reason"] == incidents["I0"]["reason"]
    d3 = next(row for row in evidence["deployments"] if row["id"] == ids["D3"])
    assert [(s["kind"], s["id"], s["inferred"]) for s in d3["failure_signals"]] == [
        ("incident", ids["I3"], True),
        ("incident", ids["I4"], True),
    ]
    assert d3["recovered_by"]["id"] == ids["I4"]


def test_attribution_window_is_configurable(session: Session) -> None:
    build_checkout(Silver(session))
    # With 150 h, I5 (120 h after D4) is D4's: all four failed.
    report = dora_report(
        session, Scope(service="checkout"), JANUARY, incident_attribution_hours=150
    )
    assert report["change_failure_rate"]["failed"] == 4
    assert report["change_failure_rate"]["unattributed_incidents"] == 1  # I0, still
    with pytest.raises(InputError, match="must not be negative"):
        dora_report(session, Scope(service="checkout"), JANUARY, incident_attribution_hours=-1)


def test_a_sha_link_prefers_the_incidents_own_repository(session: Session) -> None:
    # A fork deploys upstream's commit s1 a day before upstream does. An upstream incident
    # naming s1 is upstream's deployment U1's, though the fork's F1 shipped s1 first; the
    # fork's incident is F1's.
    silver = Silver(session)
    upstream, fork = silver.repo("up"), silver.repo("fork")
    up_commit = silver.commit(upstream, "s1", "2024-01-01")
    fork_commit = silver.commit(fork, "s1", "2024-01-01")
    ids = {
        "F1": silver.deploy(fork, "f1", "2024-01-02", commits=[fork_commit], sha="s1"),
        "U1": silver.deploy(upstream, "u1", "2024-01-03", commits=[up_commit], sha="s1"),
    }
    silver.incident("IU", None, "2024-01-20", None, repo=upstream, evidence={"sha": "s1"})
    silver.incident("IF", None, "2024-01-20", None, repo=fork, evidence={"sha": "s1"})
    silver.incident("IX", None, "2024-01-20", None, evidence={"sha": "s1"})  # no repository
    for repo, title, expected in (("up", "IU", "U1"), ("fork", "IF", "F1")):
        report = dora_report(session, Scope(repo=repo), JANUARY, explain=True)
        (row,) = [r for r in report["evidence"]["incidents"] if r["title"] == title]
        assert (row["deployment_id"], row["attributed_by"]) == (ids[expected], "explicit_sha")
    # Naming no repository, the first production deployment of s1 anywhere: F1.
    report = dora_report(session, Scope(), JANUARY, explain=True)
    (row,) = [r for r in report["evidence"]["incidents"] if r["title"] == "IX"]
    assert row["deployment_id"] == ids["F1"]


def test_explicit_deployment_link_wins(session: Session) -> None:
    ids = build_checkout(Silver(session))
    silver = Silver(session)
    # Started right after D4 but explicitly linked to D1 (long before the window's D4).
    silver.incident("I6", ids["D1"], "2024-01-15T01:00", "2024-01-15T02:00")
    evidence = dora_report(session, Scope(service="checkout"), JANUARY, explain=True)["evidence"]
    row = next(r for r in evidence["incidents"] if r["title"] == "I6")
    assert (row["deployment_id"], row["attributed_by"]) == (ids["D1"], "explicit_deployment")


def build_rollbacks(silver: Silver) -> dict[str, str]:
    repo = silver.repo("rb")
    k1, k2 = silver.commit(repo, "k1", "2024-01-01T12:00"), silver.commit(repo, "k2", "2024-01-02")
    return {
        "D1": silver.deploy(repo, "d1", "2024-01-02T00:00", commits=[k1], sha="k1"),
        "D2": silver.deploy(repo, "d2", "2024-01-03T00:00", commits=[k2], sha="k2"),
        # k1 again: an older sha, which D1 shipped -> rolls D2 back.
        "D3": silver.deploy(repo, "d3", "2024-01-03T05:00", sha="k1"),
        # k1 once more: the sha already running, a plain redeploy, rolls nothing back.
        "D4": silver.deploy(repo, "d4", "2024-01-04T00:00", sha="k1"),
    }


def test_redeploying_an_older_sha_is_a_rollback(session: Session) -> None:
    ids = build_rollbacks(Silver(session))
    report = dora_report(session, Scope(repo="rb"), JANUARY, explain=True)

    # D2 failed (rolled back by D3, 5 h later); 1 / 4 = 0.25 -> low. Rework: D3 = 1 / 4.
    assert report["change_failure_rate"]["failed"] == 1
    assert report["change_failure_rate"]["rate"] == 0.25
    assert report["failed_deployment_recovery_time"]["median_hours"] == 5.0
    assert report["rework_rate"] == {"deployments": 4, "rework": 1, "rate": 0.25}
    rows = {row["id"]: row for row in report["evidence"]["deployments"]}
    signal = rows[ids["D2"]]["recovered_by"]
    assert (signal["kind"], signal["id"], signal["inferred"]) == (
        "rolled_back_by",
        ids["D3"],
        True,
    )
    assert rows[ids["D3"]]["rework"] and not rows[ids["D4"]]["rework"]
    assert not rows[ids["D3"]]["failed"]


def build_reverts_and_hotfixes(silver: Silver) -> dict[str, str]:
    repo = silver.repo("rv")
    f1 = silver.commit(repo, "f1f1f1f1f1", "2024-01-02")
    f2 = silver.commit(repo, "f2f2f2f2f2", "2024-01-04")
    message = 'Revert "feature"\n\nThis reverts commit f2f2f2f2f2.\n'
    revert = silver.commit(repo, "abcabcabca", "2024-01-05T05:00", message=message)
    g1 = silver.commit(repo, "g1g1", "2024-01-08")
    h1 = silver.commit(repo, "h1h1", "2024-01-10")
    silver.pull_request(
        repo, 9, created="2024-01-10T01:00", merged="2024-01-10T02:00", merge_sha="h1h1"
    )
    silver.session.get(PullRequest, stable_id("test", "pull_request", repo, 9)).head_ref = (  # type: ignore[union-attr]
        "hotfix/login"
    )
    return {
        "D1": silver.deploy(repo, "d1", "2024-01-03", commits=[f1], sha="f1f1f1f1f1"),
        "D2": silver.deploy(repo, "d2", "2024-01-05", commits=[f2], sha="f2f2f2f2f2"),
        "D3": silver.deploy(repo, "d3", "2024-01-05T06:00", commits=[revert], sha="abcabcabca"),
        "D4": silver.deploy(repo, "d4", "2024-01-09", commits=[g1], sha="g1g1"),
        "D5": silver.deploy(repo, "d5", "2024-01-10T04:00", commits=[h1], sha="h1h1"),
    }


def test_reverts_and_hotfixes_fail_what_they_repair(session: Session) -> None:
    ids = build_reverts_and_hotfixes(Silver(session))
    report = dora_report(session, Scope(repo="rv"), JANUARY, explain=True)

    # D3 reverts D2's commit 6 h after it; D5 ships a hotfix branch 28 h after D4 (01-09
    # 00:00 -> 01-10 04:00). Failed D2, D4: 2 / 5 = 0.4; rework D3, D5: 2 / 5 = 0.4;
    # recovery [6, 28] -> median 17.
    assert (report["change_failure_rate"]["failed"], report["change_failure_rate"]["rate"]) == (
        2,
        0.4,
    )
    assert report["rework_rate"] == {"deployments": 5, "rework": 2, "rate": 0.4}
    assert report["failed_deployment_recovery_time"]["median_hours"] == 17.0
    rows = {row["id"]: row for row in report["evidence"]["deployments"]}
    assert [(s["kind"], s["id"]) for s in rows[ids["D2"]]["failure_signals"]] == [
        ("reverted_by", ids["D3"])
    ]
    assert [(s["kind"], s["id"]) for s in rows[ids["D4"]]["failure_signals"]] == [
        ("hotfixed_by", ids["D5"])
    ]
    # A pattern that matches nothing turns the hotfix rule off.
    quiet = dora_report(session, Scope(repo="rv"), JANUARY, hotfix_pattern="^$")
    assert quiet["change_failure_rate"]["failed"] == 1
    with pytest.raises(InputError, match="hotfix pattern"):
        dora_report(session, Scope(repo="rv"), JANUARY, hotfix_pattern="(")


def test_a_revert_fails_the_first_finished_deployment_of_its_commit(session: Session) -> None:
    """A successful deployment with no finish time is not when a commit first shipped: SQLite
    sorted it last (so took it as the first), PostgreSQL first; both now leave it out."""
    silver = Silver(session)
    ids = build_reverts_and_hotfixes(silver)
    repo = stable_id("git", "repository", "rv")
    f2 = stable_id("git", "commit", repo, "f2f2f2f2f2")
    silver.deploy(repo, "d0", None, commits=[f2], sha="f2f2f2f2f2", started="2024-01-04T12:00")
    report = dora_report(session, Scope(repo="rv"), JANUARY, explain=True)
    rows = {row["id"]: row for row in report["evidence"]["deployments"]}
    assert [(s["kind"], s["id"]) for s in rows[ids["D2"]]["failure_signals"]] == [
        ("reverted_by", ids["D3"])
    ]
    assert report["change_failure_rate"]["failed"] == 2


def test_the_latest_deployment_before_an_incident_is_found_per_stream(session: Session) -> None:
    """Rule 2 asked of the database per incident: only successful, finished production
    deployments of the incident's service (of its repository when it names none), finished
    when it started or before; on a tie in time the greater id, as the evidence orders them."""
    silver = Silver(session)
    repo = silver.repo("att")
    pay = silver.service("pay", [(repo, "")])

    def deploy(name: str, finished: str | None, **kw: object) -> str:
        return silver.deploy(repo, name, finished, service=pay, **kw)  # type: ignore[arg-type]

    tied = [deploy("d1", "2024-03-01T00:00"), deploy("d2", "2024-03-01T00:00")]
    deploy("staging", "2024-03-01T06:00", environment="staging")
    deploy("failed", "2024-03-01T07:00", status="failure")
    deploy("unfinished", None, started="2024-03-01T07:10")
    d6 = deploy("d6", "2024-03-01T08:00")
    eu = deploy("eu", "2024-03-05T00:00", environment="Prod-EU")
    d7 = silver.deploy(repo, "d7", "2024-03-02T00:00")  # no service: the repository's stream
    started = {
        "I1": ("2024-03-01T07:30", {"service": pay}),
        "I2": ("2024-03-01T08:00", {"service": pay}),  # the very moment d6 finished
        "I3": ("2024-03-01T12:00", {"repo": repo}),  # a service's deployment is the repo's too
        "I4": ("2024-03-02T01:00", {"repo": repo}),
        "I5": ("2024-03-05T01:00", {"service": pay}),  # "Prod-EU" is production
        "I6": ("2024-03-04T23:00", {"service": pay}),  # d6 was 87 h before: none
        "I7": ("2024-03-05T02:00", {"repo": repo}),  # the newest of both environments: eu
    }
    for name, (at, where) in started.items():
        silver.incident(name, None, at, None, **where)  # type: ignore[arg-type]

    found = {
        a.incident.title: a.deployment_id
        for a in attribute(session, load_incidents(session), re.compile("prod", re.IGNORECASE))
    }

    assert found == {
        "I1": max(tied),
        "I2": d6,
        "I3": d6,
        "I4": d7,
        "I5": eu,
        "I6": None,
        "I7": eu,
    }

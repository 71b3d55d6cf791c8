"""Golden DORA reports over silver rows, with every expected number worked out by hand.

Each test runs on SQLite and on PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session
from test_metrics_support import Silver, utc

from diogen.errors import InputError, NotFoundError
from diogen.ids import stable_id
from diogen.metrics import Scope, Window, dora_report
from diogen.metrics.dora import NO_FAILURE_DATA
from diogen.metrics.window import LATEST
from diogen.silver import Deployment

# Every scenario twice: matching from silver, and from refreshed gold rows.
pytestmark = pytest.mark.usefixtures("matching_source")

NO_SAMPLES = {"median_hours": None, "p75_hours": None, "p90_hours": None}
NO_STAGES = {
    "pull_requests": 0,
    **{
        stage: {"pull_requests": 0, **NO_SAMPLES}
        for stage in ("coding", "pickup", "review", "deploy")
    },
}
NO_RESTORES = {"incidents": 0, "restored": 0, **NO_SAMPLES}

# Monday 2024-01-01 to Monday 2024-01-29: 28 days, exactly four Monday weeks.
JANUARY = Window(utc("2024-01-01"), utc("2024-01-29"))


def build_api(silver: Silver) -> dict[str, str]:
    """Repository "api": five counted deployments and one of each kind of exclusion."""
    repo = silver.repo("api")
    c = {
        name: silver.commit(repo, name, authored, merge=name.startswith("m"))
        for name, authored in {
            "c0": "2023-12-19T00:00",
            "c1": "2023-12-31T12:00",  # D1 at 01-01T00:00 -> 12 h
            "c2": "2023-12-30T00:00",  # D1 -> 48 h
            "c3": "2024-01-03T04:00",  # D2 at 01-03T10:00 -> 6 h
            "m1": "2024-01-03T09:00",  # D2, merge commit -> excluded
            "c4": "2024-01-02T18:00",  # D3 at 01-03T18:00 -> 24 h
            "c5": "2024-01-03T20:00",  # D3, authored 2 h after it shipped -> excluded
            "c6": "2024-01-09T12:00",  # D4 at 01-10T12:00 -> 24 h
            "c7": "2024-01-05T12:00",  # D4 -> 120 h
            "c8": "2024-01-23T06:00",  # D5 at 01-24T06:00 -> 24 h
            "c9": "2024-01-14T00:00",  # only on staging
            "c10": "2024-01-28T00:00",  # D6, which finishes exactly at `to`
        }.items()
    }
    ids = {
        "D0": silver.deploy(repo, "v0.9", "2023-12-20T00:00", commits=[c["c0"]]),
        "D1": silver.deploy(repo, "v1.0", "2024-01-01T00:00", commits=[c["c1"], c["c2"]]),
        "D2": silver.deploy(repo, "v1.1", "2024-01-03T10:00", commits=[c["c3"], c["m1"]]),
        "D3": silver.deploy(repo, "v1.2", "2024-01-03T18:00", commits=[c["c4"], c["c5"]]),
        "D4": silver.deploy(repo, "v1.3", "2024-01-10T12:00", commits=[c["c6"], c["c7"]]),
        "S1": silver.deploy(
            repo, "stage-1", "2024-01-15T00:00", commits=[c["c9"]], environment="staging"
        ),
        "F1": silver.deploy(repo, "v1.4", "2024-01-16T00:00", status="failure"),
        "D5": silver.deploy(repo, "v1.5", "2024-01-24T06:00", commits=[c["c8"]]),
        "D6": silver.deploy(repo, "v1.6", "2024-01-29T00:00", commits=[c["c10"]]),
    }
    return ids


def test_golden_git_only_report(session: Session) -> None:
    build_api(Silver(session))
    report = dora_report(session, Scope(repo="api"), JANUARY)

    assert report["scope"] == {"repo": "api"}
    assert report["window"] == {"from": "2024-01-01T00:00:00Z", "to": "2024-01-29T00:00:00Z"}
    assert report["benchmarks"] == "2023"
    # Counted: D1 (exactly at `from`), D2, D3, D4, D5. Not D0 (before), S1 (staging), F1
    # (failed), D6 (exactly at `to`). per_week = 5 / (28 / 7) = 1.25. Deploy days: 01-01,
    # 01-03 (D2 and D3), 01-10, 01-24 = 4. Weeks from Monday: [3, 1, 0, 1] deployments ->
    # sorted [0, 1, 1, 3], median (1 + 1) / 2 = 1.0; deploy days per week [2, 1, 0, 1] ->
    # median 1.0. No full 30-day period in 28 days. Tier: median week has a deployment but
    # not 5 deploy days -> high.
    assert report["deployment_frequency"] == {
        "deployments": 5,
        "per_week": 1.25,
        "deploy_days": 4,
        "median_weekly_deployments": 1.0,
        "median_weekly_deploy_days": 1.0,
        "median_30_day_deployments": None,
        "weeks": 4,
        "tier": "high",
    }
    # Changes (hours): c1 12, c2 48, c3 6, c4 24, c6 24, c7 120, c8 24 -> 7 changes,
    # sorted [6, 12, 24, 24, 24, 48, 120]. Median: 4th value = 24.
    # p75: rank 0.75 * 6 = 4.5 -> 24 + 0.5 * (48 - 24) = 36.
    # p90: rank 0.9 * 6 = 5.4 -> 48 + 0.4 * (120 - 48) = 76.8.
    # Tier: 24 h is not < 24 h, but < 7 days -> high.
    assert report["lead_time_for_changes"] == {
        "changes": 7,
        "median_hours": 24.0,
        "p75_hours": 36.0,
        "p90_hours": 76.8,
        "tier": "high",
        "pull_requests": 0,
        "commits": 7,
        "stages": NO_STAGES,
    }
    # Git alone records no failures at all (no incident, rollback, fix or verdict), so the
    # failure metrics have no samples and say why, rather than claiming 0 % and elite.
    assert report["change_failure_rate"] == {
        "deployments": 0,
        "failed": 0,
        "rate": None,
        "tier": None,
        "reason": NO_FAILURE_DATA,
    }
    assert report["failed_deployment_recovery_time"] == {
        "failures": 0,
        "recovered": 0,
        "median_hours": None,
        "p75_hours": None,
        "p90_hours": None,
        "tier": None,
        "time_to_restore": NO_RESTORES,
    }
    assert report["rework_rate"] == {
        "deployments": 0,
        "rework": 0,
        "rate": None,
        "reason": NO_FAILURE_DATA,
    }
    assert NO_FAILURE_DATA.startswith("no failure data: ")
    assert "ingest incidents or mark failed deployments" in NO_FAILURE_DATA
    assert "buckets" not in report
    assert "evidence" not in report


def test_golden_evidence_lists_counted_rows_and_reasons(session: Session) -> None:
    ids = build_api(Silver(session))
    evidence = dora_report(session, Scope(repo="api"), JANUARY, explain=True)["evidence"]

    assert evidence["production_environments"] == ["production"]
    assert [d["ref"] for d in evidence["deployments"]] == ["v1.0", "v1.1", "v1.2", "v1.3", "v1.5"]
    assert [d["changes"] for d in evidence["deployments"]] == [2, 1, 1, 2, 1]
    assert {(c["sha"], c["lead_time_hours"]) for c in evidence["changes"]} == {
        ("c1", 12.0),
        ("c2", 48.0),
        ("c3", 6.0),
        ("c4", 24.0),
        ("c6", 24.0),
        ("c7", 120.0),
        ("c8", 24.0),
    }
    first = next(c for c in evidence["changes"] if c["sha"] == "c1")
    assert first == {
        "kind": "commit",
        "sha": "c1",
        "repo": "api",
        "deployment_id": ids["D1"],
        "authored_at": "2023-12-31T12:00:00Z",
        "deployed_at": "2024-01-01T00:00:00Z",
        "lead_time_hours": 12.0,
    }
    reasons = {(e["kind"], e.get("ref") or e["sha"], e["reason"]) for e in evidence["excluded"]}
    # D0 finished weeks before the window and does not touch it, so it is not listed.
    assert reasons == {
        ("deployment", "stage-1", "not_production"),
        ("deployment", "v1.4", "not_successful"),
        ("deployment", "v1.6", "outside_window"),
        ("change", "m1", "merge_commit"),
        ("change", "c5", "negative_lead_time"),
    }
    negative = next(e for e in evidence["excluded"] if e.get("sha") == "c5")
    assert negative["detail"] == "first commit authored 2.00 h after it was deployed"


def test_golden_weekly_buckets(session: Session) -> None:
    build_api(Silver(session))
    buckets = dora_report(session, Scope(repo="api"), JANUARY, bucket="week")["buckets"]

    # Week of 01-01: D1 (12, 48), D2 (6), D3 (24) -> 3 deployments on 2 days, 4 changes,
    # sorted [6, 12, 24, 48], median (12 + 24) / 2 = 18. Week of 01-08: D4 (24, 120) ->
    # median 72. Week of 01-15: nothing (S1 and F1 do not count). Week of 01-22: D5 (24).
    assert [
        (b["start"], b["deployments"], b["deploy_days"], b["changes"], b["median_lead_time_hours"])
        for b in buckets
    ] == [
        ("2024-01-01T00:00:00Z", 3, 2, 4, 18.0),
        ("2024-01-08T00:00:00Z", 1, 1, 2, 72.0),
        ("2024-01-15T00:00:00Z", 0, 0, 0, None),
        ("2024-01-22T00:00:00Z", 1, 1, 1, 24.0),
    ]
    # No failure data: unknown, not 0.
    assert [b["change_failure_rate"] for b in buckets] == [None, None, None, None]
    assert not any(b["partial"] for b in buckets)


def test_buckets_start_on_monday_and_flag_partial_edges(session: Session) -> None:
    build_api(Silver(session))
    # Wednesday 01-03 10:00 to Wednesday 01-17: buckets start on Mondays 01-01, 01-08, 01-15.
    window = Window(utc("2024-01-03T10:00"), utc("2024-01-17"))
    report = dora_report(session, Scope(repo="api"), window, bucket="week")

    starts = [(b["start"], b["partial"], b["deployments"]) for b in report["buckets"]]
    # D2 (exactly at `from`), D3 in the first, partial week; D4 in the second.
    assert starts == [
        ("2024-01-01T00:00:00Z", True, 2),
        ("2024-01-08T00:00:00Z", False, 1),
        ("2024-01-15T00:00:00Z", True, 0),
    ]
    # Only the week of 01-08 lies wholly inside the window: median of [1] = 1.0.
    frequency = report["deployment_frequency"]
    assert (frequency["weeks"], frequency["median_weekly_deployments"]) == (1, 1.0)
    # 3 deployments over 13 days 14 hours = 13.5833 days: 3 / (13.5833 / 7) = 1.546 -> 1.55.
    assert frequency["per_week"] == 1.55


def test_day_and_month_buckets(session: Session) -> None:
    build_api(Silver(session))
    window = Window(utc("2023-12-15"), utc("2024-02-01"))
    months = dora_report(session, Scope(repo="api"), window, bucket="month")["buckets"]
    # December: D0 (12-20); January: D1-D5 (D6 on 01-29 counts too, `to` is now 02-01).
    assert [(b["start"], b["partial"], b["deployments"]) for b in months] == [
        ("2023-12-01T00:00:00Z", True, 1),
        ("2024-01-01T00:00:00Z", False, 6),
    ]
    days = dora_report(session, Scope(repo="api"), JANUARY, bucket="day")["buckets"]
    assert len(days) == 28
    assert days[2]["start"] == "2024-01-03T00:00:00Z"
    assert days[2]["deployments"] == 2


def test_empty_window_reports_nulls_not_zeros(session: Session) -> None:
    Silver(session).repo("quiet")
    report = dora_report(session, Scope(repo="quiet"), JANUARY, bucket="week")

    # Four Monday weeks with no deployment each: median 0, but no tier without deployments.
    assert report["deployment_frequency"] == {
        "deployments": 0,
        "per_week": 0.0,
        "deploy_days": 0,
        "median_weekly_deployments": 0.0,
        "median_weekly_deploy_days": 0.0,
        "median_30_day_deployments": None,
        "weeks": 4,
        "tier": None,
    }
    assert report["lead_time_for_changes"] == {
        "changes": 0,
        "median_hours": None,
        "p75_hours": None,
        "p90_hours": None,
        "tier": None,
        "pull_requests": 0,
        "commits": 0,
        "stages": NO_STAGES,
    }
    assert report["change_failure_rate"] == {
        "deployments": 0,
        "failed": 0,
        "rate": None,
        "tier": None,
        "reason": NO_FAILURE_DATA,
    }
    assert report["rework_rate"] == {
        "deployments": 0,
        "rework": 0,
        "rate": None,
        "reason": NO_FAILURE_DATA,
    }
    assert [b["deployments"] for b in report["buckets"]] == [0, 0, 0, 0]


API = stable_id("git", "repository", "api")  # the id Silver.repo gives "api"


def _incident_elsewhere(silver: Silver, api: dict[str, str]) -> None:
    ops = silver.repo("ops")
    silver.incident("I1", silver.deploy(ops, "o1", "2023-06-01T00:00"), "2023-06-01", None)


def _verdict_before_the_window(silver: Silver, api: dict[str, str]) -> None:
    # D0 (12-20, before the window) was looked at and judged fine: someone records verdicts.
    silver.session.get(Deployment, api["D0"]).marked_failed = False  # type: ignore[union-attr]
    silver.session.flush()


def _rollback_on_staging(silver: Silver, api: dict[str, str]) -> None:
    silver.deploy(API, "back", "2023-06-01", environment="staging", is_rollback=True)


def _fix_in_scope(silver: Silver, api: dict[str, str]) -> None:
    silver.deploy(API, "fix", "2023-12-21", fixes=api["D0"])  # before the window


@pytest.mark.parametrize(
    "record_failures",
    [_incident_elsewhere, _verdict_before_the_window, _rollback_on_staging, _fix_in_scope],
)
def test_any_failure_data_makes_zero_failures_a_measurement(
    session: Session, record_failures: Any
) -> None:
    silver = Silver(session)
    api = build_api(silver)
    record_failures(silver, api)
    report = dora_report(session, Scope(repo="api"), JANUARY, bucket="week")

    # Failures are recorded somewhere, and none of the 5 counted deployments failed:
    # 0 / 5 = 0.0 -> elite (<= 5 %); no failures, so no recovery samples.
    assert report["change_failure_rate"] == {
        "deployments": 5,
        "failed": 0,
        "rate": 0.0,
        "tier": "elite",
        "incidents": 0,
        "unattributed_incidents": 0,
    }
    assert report["rework_rate"] == {"deployments": 5, "rework": 0, "rate": 0.0}
    assert report["failed_deployment_recovery_time"]["failures"] == 0
    assert [b["change_failure_rate"] for b in report["buckets"]] == [0.0, 0.0, None, 0.0]


def test_failure_data_out_of_scope_does_not_count(session: Session) -> None:
    silver = Silver(session)
    build_api(silver)
    # A rollback in another repository says nothing about how "api" records failures.
    web = silver.repo("web")
    silver.deploy(web, "w1", "2024-01-05", is_rollback=True)
    report = dora_report(session, Scope(repo="api"), JANUARY)
    assert report["change_failure_rate"]["reason"] == NO_FAILURE_DATA
    assert dora_report(session, Scope(), JANUARY)["change_failure_rate"]["rate"] == 0.0


def test_single_sample_and_even_count(session: Session) -> None:
    silver = Silver(session)
    one = silver.repo("one")
    silver.deploy(one, "v1", "2024-01-10T05:00", commits=[silver.commit(one, "a", "2024-01-10")])
    two = silver.repo("two")
    commits = [silver.commit(two, "b", "2024-01-09T14:00"), silver.commit(two, "c", "2024-01-09")]
    silver.deploy(two, "v1", "2024-01-10", commits=commits)

    # One change of 5 h: median = p75 = p90 = 5; 5 h < 24 h -> elite.
    single = dora_report(session, Scope(repo="one"), JANUARY)["lead_time_for_changes"]
    assert single == {
        "changes": 1,
        "median_hours": 5.0,
        "p75_hours": 5.0,
        "p90_hours": 5.0,
        "tier": "elite",
        "pull_requests": 0,
        "commits": 1,
        "stages": NO_STAGES,
    }
    # Two changes, 10 h and 24 h: median (10 + 24) / 2 = 17; p75 = 10 + 0.75 * 14 = 20.5;
    # p90 = 10 + 0.9 * 14 = 22.6.
    even = dora_report(session, Scope(repo="two"), JANUARY)["lead_time_for_changes"]
    assert (even["median_hours"], even["p75_hours"], even["p90_hours"]) == (17.0, 20.5, 22.6)


def test_organisation_scope_covers_every_repository(session: Session) -> None:
    silver = Silver(session)
    build_api(silver)
    other = silver.repo("web")
    silver.deploy(
        other, "r1", "2024-01-02T00:00", commits=[silver.commit(other, "w1", "2024-01-01")]
    )

    report = dora_report(session, Scope(), JANUARY, explain=True)
    # api's 5 deployments and 7 changes plus web's one deployment and one 24 h change.
    assert report["scope"] == {"org": None}
    assert report["deployment_frequency"]["deployments"] == 6
    assert report["lead_time_for_changes"]["changes"] == 8
    assert {d["repo"] for d in report["evidence"]["deployments"]} == {"api", "web"}


def test_unknown_repository_names_the_known_ones(session: Session) -> None:
    silver = Silver(session)
    silver.repo("api")
    silver.repo("web")
    with pytest.raises(NotFoundError, match=r"unknown repository 'nope'; known: api, web"):
        dora_report(session, Scope(repo="nope"), JANUARY)


def test_bad_arguments_are_input_errors(session: Session) -> None:
    with pytest.raises(InputError, match="unknown benchmarks"):
        dora_report(session, Scope(), JANUARY, benchmarks="2019")
    with pytest.raises(InputError, match="unknown bucket"):
        dora_report(session, Scope(), JANUARY, bucket="year")
    with pytest.raises(InputError, match="not a valid regular expression"):
        dora_report(session, Scope(), JANUARY, production_environment="(")


@pytest.mark.parametrize("bucket", ["day", "week", "month"])
def test_window_ending_at_the_latest_date(session: Session, bucket: str) -> None:
    silver = Silver(session)
    repo = silver.repo("far")
    commit = silver.commit(repo, "f1", "9998-12-30T00:00")
    silver.deploy(repo, "v1", "9998-12-31T12:00", commits=[commit])
    # Buckets, weeks and 30-/180-day periods all reach past the end: none may overflow.
    window = Window(utc("9998-06-01"), LATEST)
    report = dora_report(session, Scope(repo="far"), window, bucket=bucket, explain=True)
    assert report["window"]["to"] == "9999-01-01T00:00:00Z"
    assert report["deployment_frequency"]["deployments"] == 1
    assert report["lead_time_for_changes"]["median_hours"] == 36.0
    assert report["buckets"][-1]["deployments"] == 1


def _by_ref(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["ref"]: d for d in report["evidence"]["deployments"]}


def build_failures(silver: Silver) -> None:
    """Repository "svc": every failure signal silver can carry."""
    repo = silver.repo("svc")
    silver.deploy(repo, "P1", "2024-02-05T10:00")
    p2 = silver.deploy(repo, "P2", "2024-02-06T10:00")
    silver.deploy(repo, "H1", "2024-02-06T13:30", fixes=p2)  # hotfix: P2 recovered in 3.5 h
    silver.deploy(repo, "P3", "2024-02-07T09:00", marked_failed=True)  # failed, no recovery
    silver.deploy(repo, "P4", "2024-02-08T00:00")
    silver.deploy(repo, "R1", "2024-02-08T00:30", is_rollback=True)  # unlinked: rolls back P4
    p5 = silver.deploy(repo, "P5", "2024-02-09T00:00")
    silver.deploy(repo, "F5", "2024-02-09T05:00", fixes=p5, status="failure")  # no recovery
    silver.incident("I5", p5, "2024-02-09T01:00", "2024-02-09T10:00")  # resolved after 10 h
    p6 = silver.deploy(repo, "P6", "2024-02-12T00:00", marked_failed=False)
    silver.deploy(repo, "X6", "2024-02-12T01:00", fixes=p6)  # overruled by the person's verdict
    p7 = silver.deploy(repo, "P7", "2024-02-18T20:00")
    # After the window, yet it still shows P7 failed and recovered 6 h later.
    silver.deploy(repo, "R7", "2024-02-19T02:00", is_rollback=True, fixes=p7)


def test_golden_failures_recovery_and_rework(session: Session) -> None:
    build_failures(Silver(session))
    # Monday 02-05 to Monday 02-19: 14 days.
    window = Window(utc("2024-02-05"), utc("2024-02-19"))
    report = dora_report(session, Scope(repo="svc"), window, explain=True)

    # Counted: P1, P2, H1, P3, P4, R1, P5, P6, X6, P7 = 10 (F5 failed, R7 after `to`).
    # Failed: P2 (fixed by H1), P3 (marked), P4 (rolled back by R1), P5 (incident; F5 is a
    # signal too), P7 (rolled back by R7) = 5; P6 is marked not failed. 5 / 10 = 0.5 -> low.
    assert report["change_failure_rate"] == {
        "deployments": 10,
        "failed": 5,
        "rate": 0.5,
        "tier": "low",
        "incidents": 1,
        "unattributed_incidents": 0,
    }
    # Recoveries (h): P2 3.5, P4 0.5, P5 10 (the failed F5 restores nothing), P7 6; P3 none.
    # Sorted [0.5, 3.5, 6, 10]: median (3.5 + 6) / 2 = 4.75; p75 rank 2.25 -> 6 + 0.25 * 4 = 7;
    # p90 rank 2.7 -> 6 + 0.7 * 4 = 8.8. 4.75 h: not < 1 h, < 24 h -> high.
    assert report["failed_deployment_recovery_time"] == {
        "failures": 5,
        "recovered": 4,
        "median_hours": 4.75,
        "p75_hours": 7.0,
        "p90_hours": 8.8,
        "tier": "high",
        # I5: 02-09T01:00 -> 10:00 = 9 h, the only incident.
        "time_to_restore": {
            "incidents": 1,
            "restored": 1,
            "median_hours": 9.0,
            "p75_hours": 9.0,
            "p90_hours": 9.0,
        },
    }
    # Rework: H1 (fixes P2), R1 (rollback), X6 (fixes P6) = 3 / 10 = 0.3.
    assert report["rework_rate"] == {"deployments": 10, "rework": 3, "rate": 0.3}

    rows = _by_ref(report)
    assert rows["P4"]["recovered_by"]["kind"] == "rolled_back_by"
    assert rows["P4"]["recovered_by"]["inferred"] is True
    assert rows["P5"]["recovered_by"]["kind"] == "incident"
    assert [s["kind"] for s in rows["P5"]["failure_signals"]] == ["fixed_by", "incident"]
    assert rows["P3"]["failure_signals"][0]["kind"] == "marked_failed"
    assert rows["P3"]["recovery_hours"] is None
    assert (rows["P6"]["failed"], rows["P6"]["marked_failed"]) == (False, False)
    assert rows["P7"]["recovery_hours"] == 6.0


def test_failure_tiers_follow_the_benchmark_year(session: Session) -> None:
    build_failures(Silver(session))
    window = Window(utc("2024-02-05"), utc("2024-02-19"))
    for year in ("2024", "2021"):
        report = dora_report(session, Scope(repo="svc"), window, benchmarks=year)
        assert report["benchmarks"] == year
        # 50 % fails every year's bounds (2024: 20 %, 2021: 30 %) -> low.
        assert report["change_failure_rate"]["tier"] == "low"
    # Recovery median 4.75 h: 2024 high (< 1 day); 2021 high (< 1 day).
    report = dora_report(session, Scope(repo="svc"), window, benchmarks="2024")
    assert report["failed_deployment_recovery_time"]["tier"] == "high"


def test_change_counts_once_across_production_environments(session: Session) -> None:
    silver = Silver(session)
    repo = silver.repo("multi")
    a = silver.commit(repo, "a", "2024-01-05T00:00")
    b = silver.commit(repo, "b", "2023-12-20T00:00")
    # `a` reaches prod-eu on 01-06 (24 h) and prod-us on 01-08; `b` reached prod-eu before
    # the window, so prod-us shipping it inside the window is not a new change.
    silver.deploy(repo, "eu-0", "2023-12-21T00:00", commits=[b], environment="prod-eu")
    silver.deploy(repo, "eu-1", "2024-01-06T00:00", commits=[a], environment="prod-eu")
    silver.deploy(repo, "us-1", "2024-01-08T00:00", commits=[a, b], environment="prod-us")

    report = dora_report(
        session, Scope(repo="multi"), JANUARY, production_environment=r"^prod", explain=True
    )
    assert report["deployment_frequency"]["deployments"] == 2
    assert report["lead_time_for_changes"]["changes"] == 1
    assert report["lead_time_for_changes"]["median_hours"] == 24.0
    excluded = {(e["sha"], e["reason"]) for e in report["evidence"]["excluded"]}
    assert excluded == {("a", "deployed_earlier"), ("b", "deployed_earlier")}


def test_environment_pattern_is_case_insensitive(session: Session) -> None:
    silver = Silver(session)
    repo = silver.repo("caps")
    silver.deploy(repo, "v1", "2024-01-02T00:00", environment="Production")
    silver.deploy(repo, "v2", "2024-01-03T00:00", environment="preproduction")
    report = dora_report(session, Scope(repo="caps"), JANUARY)
    # The default ^prod(uction)?$ takes "Production" but not "preproduction".
    assert report["deployment_frequency"]["deployments"] == 1


def test_unfinished_deployment_is_listed_without_a_finish(session: Session) -> None:
    silver = Silver(session)
    repo = silver.repo("slow")
    silver.deploy(repo, "v1", None, started="2024-01-05T00:00")
    report = dora_report(session, Scope(repo="slow"), JANUARY, explain=True)
    assert report["deployment_frequency"]["deployments"] == 0
    [row] = report["evidence"]["excluded"]
    assert (row["reason"], row["finished_at"]) == ("no_finish_time", None)


def _statements(session: Session, window: Window) -> int:
    executed: list[str] = []

    def record(*args: object) -> None:
        executed.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        dora_report(session, Scope(), window, bucket="day", explain=True)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(executed)


def test_query_count_does_not_grow_with_data(session: Session) -> None:
    silver = Silver(session)
    build_api(silver)
    small = _statements(session, JANUARY)
    # Ten times the deployments, each with its commits: the same statements run.
    repo = silver.repo("busy")
    for day in range(1, 29):
        commit = silver.commit(repo, f"b{day}", f"2024-01-{day:02d}T00:00")
        silver.deploy(repo, f"r{day}", f"2024-01-{day:02d}T06:00", commits=[commit])
    assert _statements(session, JANUARY) == small

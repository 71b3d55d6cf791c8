"""Golden lead times with pull requests: merge, squash and rebase merges, stages, time zones.

Every expected number is worked out by hand in the comments; each test runs on SQLite and on
PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session
from test_metrics_support import Silver, utc

from diogen.metrics import Scope, Window, dora_report

# Every scenario twice: matching from silver, and from refreshed gold rows.
pytestmark = pytest.mark.usefixtures("matching_source")

JANUARY = Window(utc("2024-01-01"), utc("2024-01-29"))


def build_shop(silver: Silver) -> dict[str, str]:
    repo = silver.repo("shop")
    alice, bob = silver.person("alice"), silver.person("bob")
    bot = silver.person("dependabot[bot]", bot=True)

    def commit(sha: str, authored: str, **kw: Any) -> str:
        return silver.commit(repo, sha, authored, author=kw.pop("author", alice), **kw)

    # PR #1, a merge commit. a1 08:00 -> ready (opened, never a draft) 13:00 -> bot review
    # 14:00 (ignored) -> bob 16:00 -> merged 01-03 10:00 -> D1 01-04 10:00.
    # Lead 50 h = coding 5 + pickup 3 + review 18 + deploy 24.
    a1, a2 = commit("a1", "2024-01-02T08:00"), commit("a2", "2024-01-02T12:00")
    m1 = commit("m1", "2024-01-03T10:00", merge=True)
    pr1 = silver.pull_request(
        repo, 1, created="2024-01-02T13:00", merged="2024-01-03T10:00", shas=["a1", "a2"],
        merge_sha="m1", author=alice,
    )  # fmt: skip
    silver.review(pr1, bot, "2024-01-02T14:00")
    silver.review(pr1, bob, "2024-01-02T16:00")
    d1 = silver.deploy(repo, "v1", "2024-01-04T10:00", commits=[a1, a2, m1], sha="m1")

    # PR #2, squashed: its own commits s1, s2 are known (fetched from the pull request's ref)
    # but never deployed; the squash commit q2 is. s1 01-05 09:00 -> ready 15:00 (opened as a
    # draft at 12:00) -> alice 01-06 09:00 -> merged 10:00 -> D2 12:00.
    # Lead 27 h = coding 6 + pickup 18 + review 1 + deploy 2.
    commit("s1", "2024-01-05T09:00", author=bob)
    commit("s2", "2024-01-05T11:00", author=bob)
    q2 = commit("q2", "2024-01-06T10:00", author=bob)
    pr2 = silver.pull_request(
        repo, 2, created="2024-01-05T12:00", ready="2024-01-05T15:00", merged="2024-01-06T10:00",
        shas=["s1", "s2"], merge_sha="q2", author=bob,
    )  # fmt: skip
    silver.review(pr2, alice, "2024-01-06T09:00")
    silver.deploy(repo, "v2", "2024-01-06T12:00", commits=[q2], sha="q2")

    # PR #3, rebased: r1, r2 were rewritten as r1x, r2x (same author, date and subject); the
    # merge commit sha is the last copy. r1 01-08 10:00 -> opened 12:00 -> bob 01-09 09:00 ->
    # merged 12:00 -> D3 01-10 10:00. Lead 48 h = coding 2 + pickup 21 + review 3 + deploy 22.
    # D3 also ships d1, pushed straight to the branch: a commit change of 2 h.
    commit("r1", "2024-01-08T10:00")
    commit("r2", "2024-01-08T11:00")
    r1x = commit("r1x", "2024-01-08T10:00", message="r1")
    r2x = commit("r2x", "2024-01-08T11:00", message="r2")
    d1_direct = commit("d1", "2024-01-10T08:00")
    pr3 = silver.pull_request(
        repo, 3, created="2024-01-08T12:00", merged="2024-01-09T12:00", shas=["r1", "r2"],
        merge_sha="r2x", author=alice,
    )  # fmt: skip
    silver.review(pr3, bob, "2024-01-09T09:00")
    silver.deploy(repo, "v3", "2024-01-10T10:00", commits=[r1x, r2x, d1_direct], sha="d1")

    # PR #4 is merged but never deployed: it is no change of this report.
    commit("n1", "2024-01-11T10:00")
    silver.pull_request(
        repo, 4, created="2024-01-11T11:00", merged="2024-01-12T00:00", shas=["n1"], author=bob
    )

    # PR #5, fast-forwarded (its merge commit is its only commit), reviewed only by its author
    # and a bot: no pickup. e1 01-15 10:00 -> opened 11:00 -> merged 12:00 -> D4 01-16 12:00.
    # Lead 26 h = coding 1 + review 1 (ready -> merge) + deploy 24.
    e1 = commit("e1", "2024-01-15T10:00")
    pr5 = silver.pull_request(
        repo, 5, created="2024-01-15T11:00", merged="2024-01-15T12:00", shas=["e1"],
        merge_sha="e1", author=alice,
    )  # fmt: skip
    silver.review(pr5, alice, "2024-01-15T11:30", state="COMMENTED")
    silver.review(pr5, bot, "2024-01-15T11:45")
    silver.deploy(repo, "v4", "2024-01-16T12:00", commits=[e1], sha="e1")
    return {"D1": d1, "PR1": pr1, "PR2": pr2, "PR3": pr3, "PR5": pr5}


def test_golden_pull_request_lead_time_and_stages(session: Session) -> None:
    build_shop(Silver(session))
    report = dora_report(session, Scope(repo="shop"), JANUARY)
    lead = report["lead_time_for_changes"]

    # Changes: PR#1 50, PR#2 27, PR#3 48, d1 2, PR#5 26 -> sorted [2, 26, 27, 48, 50].
    # Median 27; p75 rank 3 -> 48; p90 rank 3.6 -> 48 + 0.6 * 2 = 49.2; 27 h -> high.
    assert {k: lead[k] for k in ("changes", "median_hours", "p75_hours", "p90_hours")} == {
        "changes": 5,
        "median_hours": 27.0,
        "p75_hours": 48.0,
        "p90_hours": 49.2,
    }
    assert (lead["tier"], lead["pull_requests"], lead["commits"]) == ("high", 4, 1)
    # coding [5, 6, 2, 1] -> sorted [1, 2, 5, 6]: median 3.5, p75 rank 2.25 -> 5.25, p90 2.7 -> 5.7
    # pickup [3, 18, 21] (PR#5 none): median 18, p75 rank 1.5 -> 19.5, p90 rank 1.8 -> 20.4
    # review [18, 1, 3, 1] -> [1, 1, 3, 18]: median 2, p75 -> 3 + 0.25 * 15 = 6.75, p90 13.5
    # deploy [24, 2, 22, 24] -> [2, 22, 24, 24]: median 23, p75 24, p90 24
    assert lead["stages"] == {
        "pull_requests": 4,
        "coding": {"pull_requests": 4, "median_hours": 3.5, "p75_hours": 5.25, "p90_hours": 5.7},
        "pickup": {"pull_requests": 3, "median_hours": 18.0, "p75_hours": 19.5, "p90_hours": 20.4},
        "review": {"pull_requests": 4, "median_hours": 2.0, "p75_hours": 6.75, "p90_hours": 13.5},
        "deploy": {"pull_requests": 4, "median_hours": 23.0, "p75_hours": 24.0, "p90_hours": 24.0},
    }


def test_pull_request_evidence_lists_its_commits_and_stages(session: Session) -> None:
    ids = build_shop(Silver(session))
    evidence = dora_report(session, Scope(repo="shop"), JANUARY, explain=True)["evidence"]
    changes = {c.get("pull_request") or c["sha"]: c for c in evidence["changes"]}

    assert set(changes) == {"#1", "#2", "#3", "#5", "d1"}
    assert changes["#1"] == {
        "kind": "pull_request",
        "pull_request": "#1",
        "pull_request_id": ids["PR1"],
        "commits": ["a1", "a2", "m1"],
        "repo": "shop",
        "deployment_id": ids["D1"],
        "authored_at": "2024-01-02T08:00:00Z",
        "deployed_at": "2024-01-04T10:00:00Z",
        "lead_time_hours": 50.0,
        "stages": {
            "coding_hours": 5.0,
            "pickup_hours": 3.0,
            "review_hours": 18.0,
            "deploy_hours": 24.0,
        },
    }
    assert changes["#3"]["commits"] == ["r1x", "r2x"]
    assert changes["#5"]["stages"]["pickup_hours"] is None
    # The merge commit m1 belongs to PR #1, so it is not excluded as a merge commit.
    assert [e for e in evidence["excluded"] if e["kind"] == "change"] == []


def test_stages_sum_to_the_lead_time(session: Session) -> None:
    build_shop(Silver(session))
    evidence = dora_report(session, Scope(repo="shop"), JANUARY, explain=True)["evidence"]
    for change in evidence["changes"]:
        if change["kind"] == "pull_request":
            stages = change["stages"]
            total = sum(hours or 0.0 for hours in stages.values())
            assert total == pytest.approx(change["lead_time_hours"], abs=0.011)


def test_pull_request_deployed_before_the_window_is_excluded(session: Session) -> None:
    silver = Silver(session)
    repo = silver.repo("late")
    c1 = silver.commit(repo, "c1", "2023-12-30T00:00")
    c2 = silver.commit(repo, "c2", "2024-01-02T00:00")
    # c1 went out in December; its pull request's second commit c2 only in January.
    silver.pull_request(repo, 7, created="2023-12-30T01:00", merged=None, shas=["c1", "c2"])
    silver.deploy(repo, "v1", "2023-12-31T00:00", commits=[c1], sha="c1")
    silver.deploy(repo, "v2", "2024-01-03T00:00", commits=[c2], sha="c2")

    evidence = dora_report(session, Scope(repo="late"), JANUARY, explain=True)["evidence"]
    # A pull request is deployed by the first deployment containing any of its commits.
    assert evidence["changes"] == []
    [excluded] = [e for e in evidence["excluded"] if e["kind"] == "change"]
    assert (excluded["pull_request"], excluded["reason"]) == ("#7", "deployed_earlier")
    assert excluded["deployed_at"] == "2023-12-31T00:00:00Z"


def test_time_zones_and_daylight_saving(session: Session) -> None:
    silver = Silver(session)
    repo = silver.repo("tz")
    # Authored at 01:30 CET on the night Europe moves to summer time (2024-03-31), shipped at
    # 03:30 CEST the same night: two hours on the wall clock, one hour in fact (00:30Z ->
    # 01:30Z). A commit from Tokyo at 09:00+09:00 is 00:00Z: 1.5 h before 01:30Z.
    paris = silver.commit(repo, "p1", "2024-03-31T01:30:00+01:00", tz_offset=60)
    tokyo = silver.commit(repo, "t1", "2024-03-31T09:00:00+09:00", tz_offset=540)
    silver.deploy(repo, "v1", "2024-03-31T01:30", commits=[paris, tokyo])

    march = Window(utc("2024-03-25"), utc("2024-04-01"))
    report = dora_report(session, Scope(repo="tz"), march, explain=True)
    hours = {c["sha"]: c["lead_time_hours"] for c in report["evidence"]["changes"]}
    assert hours == {"p1": 1.0, "t1": 1.5}
    assert report["evidence"]["changes"][0]["authored_at"].endswith("Z")

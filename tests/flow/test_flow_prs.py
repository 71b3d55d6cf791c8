"""Golden pull-request flow reports, every expected number worked out by hand in comments.

The data set is `flow_cases.pull_requests`; window Monday 2024-01-01 to Monday 2024-01-15.
Each test runs on SQLite and on PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import pytest
from flow_cases import LATER, WINDOW, core_team, pull_requests
from flow_support import FlowRows, utc
from sqlalchemy.orm import Session

from diogen.errors import InputError, NotFoundError
from diogen.metrics import Scope, Window
from diogen.metrics.flow import pr_flow


@pytest.fixture
def prs(session: Session) -> dict[str, str]:
    rows = FlowRows()
    ids = pull_requests(rows)
    core_team(rows)
    rows.write(session)
    return ids


def test_golden_pull_request_figures(session: Session, prs: dict[str, str]) -> None:
    report = pr_flow(session, Scope(repo="api"), WINDOW, now=LATER)
    assert report["scope"] == {"repo": "api"}
    assert report["window"] == {"from": "2024-01-01T00:00:00Z", "to": "2024-01-15T00:00:00Z"}
    figures = report["pull_requests"]
    # Merged in the window by people: #1 (01-02), #2 (01-08), #3 (01-09). Not #4 (a bot's),
    # #8 (merged exactly at `to`), #9 (before). 3 merges / 2 weeks = 1.5 per week.
    assert figures["throughput"] == {"merged": 3, "per_week": 1.5}
    # Sizes 25, 400, 5 -> sorted [5, 25, 400]; median 25; p75 rank 1.5 -> 25 + 0.5 * 375 =
    # 212.5; p90 rank 1.8 -> 25 + 0.8 * 375 = 325. Classes: 5 XS, 25 S, 400 L.
    assert figures["size"] == {
        "pull_requests": 3,
        "median_lines": 25.0,
        "p75_lines": 212.5,
        "p90_lines": 325.0,
        "classes": {"XS": 1, "S": 1, "M": 0, "L": 1, "XL": 0},
        "unknown": 0,
    }
    # First reviews in the window, from ready (else opened) to the first review by someone
    # else who is no bot: #1 09:00 -> bob 13:00 = 4 h (alice-git is alice, dependabot a bot);
    # #2 ready 01-04 10:00 -> carol 01-05 10:00 = 24 h; #5 08:00 -> bob 20:00 = 12 h.
    # Sorted [4, 12, 24]: median 12, p75 12 + 0.5 * 12 = 18, p90 12 + 0.8 * 12 = 21.6.
    assert figures["time_to_first_review"] == {
        "pull_requests": 3,
        "median_hours": 12.0,
        "p75_hours": 18.0,
        "p90_hours": 21.6,
    }
    # Depth = counted reviews + comments: #1 1 + 2 = 3, #2 2 + 3 = 5 (the pending review was
    # never submitted), #3 0. Totals 3 reviews, 5 comments; mean 8 / 3 = 2.67. Sorted
    # [0, 3, 5]: median 3, p75 3 + 0.5 * 2 = 4, p90 3 + 0.8 * 2 = 4.6. #3 had no review.
    assert figures["review_depth"] == {
        "pull_requests": 3,
        "reviews": 3,
        "review_comments": 5,
        "mean_per_pull_request": 2.67,
        "median_per_pull_request": 3.0,
        "p75_per_pull_request": 4.0,
        "p90_per_pull_request": 4.6,
        "unreviewed": 1,
    }
    # Open at 01-15 00:00, not drafts, by people: #5 (01-10 08:00 -> 112 h), #7 (12-20 ->
    # 26 days = 624 h), #8 (01-11 -> 96 h). Not #6 (draft), #10 (bot), #11 (closed, time
    # unknown). Sorted [96, 112, 624]: median 112; p75 112 + 0.5 * 512 = 368; p90 112 +
    # 0.8 * 512 = 521.6. Bands: 96 and 112 h within 7 days, 624 h within 30 days.
    assert figures["wip"] == {
        "at": "2024-01-15T00:00:00Z",
        "open": 3,
        "age": {"median_hours": 112.0, "p75_hours": 368.0, "p90_hours": 521.6},
        "age_bands": {
            "up_to_1_day": 0,
            "up_to_3_days": 0,
            "up_to_7_days": 2,
            "up_to_30_days": 1,
            "over_30_days": 0,
        },
    }
    assert "buckets" not in report and "evidence" not in report


def test_golden_bottleneck(session: Session, prs: dict[str, str]) -> None:
    bottleneck = pr_flow(session, Scope(repo="api"), WINDOW, now=LATER)["bottleneck"]
    # Coding: #1 24 h, #2 01-03 08:00 -> ready 01-04 10:00 = 26 h (#3 has no known commit)
    # -> median 25. Pickup: #1 4 h, #2 24 h -> 14 (#3 was not reviewed). Review: #1 13:00 ->
    # 17:00 = 4 h, #2 01-05 10:00 -> 01-08 10:00 = 72 h, #3 ready -> merge = 3 h -> median 4.
    # Total 25 + 14 + 4 = 43; shares 25/43 = 0.5814, 14/43 = 0.3256, 4/43 = 0.093.
    assert bottleneck["stage"] == "coding"
    assert bottleneck["share"] == 0.5814
    assert bottleneck["total_median_hours"] == 43.0
    assert [
        (s["stage"], s["pull_requests"], s["median_hours"], s["share"])
        for s in bottleneck["stages"]
    ] == [
        ("coding", 2, 25.0, 0.5814),
        ("pickup", 2, 14.0, 0.3256),
        ("review", 3, 4.0, 0.093),
    ]
    # p75/p90 of review [3, 4, 72]: 4 + 0.5 * 68 = 38, 4 + 0.8 * 68 = 58.4.
    assert bottleneck["stages"][2]["p75_hours"] == 38.0
    assert bottleneck["stages"][2]["p90_hours"] == 58.4
    assert set(bottleneck["not_measured"]) == {"deploy"}
    # Weekly trend (the default bucket): week 1 has #1 (coding 24, pickup 4, review 4 ->
    # coding); week 2 #2 and #3 (coding 26, pickup 24, review median (72 + 3) / 2 = 37.5 ->
    # review). Coding went from 24 to 26 h: +8 %, within 10 %, so steady.
    trend = bottleneck["trend"]
    assert trend["bucket"] == "week"
    assert trend["direction"] == "steady"
    assert (trend["first_median_hours"], trend["last_median_hours"]) == (24.0, 26.0)
    assert [
        (
            b["start"],
            b["pull_requests"],
            b["bottleneck"],
            b["coding_median_hours"],
            b["pickup_median_hours"],
            b["review_median_hours"],
        )
        for b in trend["buckets"]
    ] == [
        ("2024-01-01T00:00:00Z", 1, "coding", 24.0, 4.0, 4.0),
        ("2024-01-08T00:00:00Z", 2, "review", 26.0, 24.0, 37.5),
    ]


def test_golden_weekly_buckets(session: Session, prs: dict[str, str]) -> None:
    buckets = pr_flow(session, Scope(repo="api"), WINDOW, bucket="week", now=LATER)["buckets"]
    # Week of 01-01: merged #1 (size 25, depth 3); first reviews #1 (4 h), #2 (24 h) ->
    # median 14; open at 01-08 00:00: #2 (ready, merged 01-08 10:00) and #7 -> 2.
    # Week of 01-08: merged #2 (400, depth 5) and #3 (5, depth 0) -> medians 202.5 and 2.5;
    # first review #5 (12 h); open at 01-15: #5, #7, #8 -> 3.
    assert buckets == [
        {
            "start": "2024-01-01T00:00:00Z",
            "end": "2024-01-08T00:00:00Z",
            "partial": False,
            "merged": 1,
            "median_size_lines": 25.0,
            "median_review_depth": 3.0,
            "first_reviews": 2,
            "median_time_to_first_review_hours": 14.0,
            "wip": 2,
        },
        {
            "start": "2024-01-08T00:00:00Z",
            "end": "2024-01-15T00:00:00Z",
            "partial": False,
            "merged": 2,
            "median_size_lines": 202.5,
            "median_review_depth": 2.5,
            "first_reviews": 1,
            "median_time_to_first_review_hours": 12.0,
            "wip": 3,
        },
    ]


def test_team_scope_counts_authors_who_were_members_when_they_opened(
    session: Session, prs: dict[str, str]
) -> None:
    report = pr_flow(session, Scope(team="core"), WINDOW, now=LATER)["pull_requests"]
    # Team core: alice always, bob until 01-06. Merged: #1 (alice), #2 (bob, opened 01-03 as
    # a member), web #1 (alice) -> 3. Not #3 (carol). Open at the end: #5 and #8 (alice);
    # #6 is bob's after he left, and a draft anyway.
    assert report["throughput"] == {"merged": 3, "per_week": 1.5}
    assert report["wip"]["open"] == 2
    # First reviews: #1 4 h, #2 24 h, #5 12 h, and web #1 which has no review rows, so its
    # connector's first_review_at counts: 00:00 -> 06:00 = 6 h. Sorted [4, 6, 12, 24].
    assert report["time_to_first_review"]["pull_requests"] == 4
    assert report["time_to_first_review"]["median_hours"] == 9.0


def test_organisation_scope_counts_every_repository(session: Session, prs: dict[str, str]) -> None:
    report = pr_flow(session, None, WINDOW, now=LATER)
    assert report["scope"] == {"org": None}
    # #1, #2, #3 in api and #1 in web.
    assert report["pull_requests"]["throughput"]["merged"] == 4


def test_monorepo_service_counts_pull_requests_touching_its_path(session: Session) -> None:
    rows = FlowRows()
    alice = rows.person("alice")
    mono = rows.repo("mono")
    rows.service("payments", mono, "services/payments")
    rows.service("web", rows.repo("web"))  # a whole repository
    inside = rows.commit(mono, "in", "2024-01-02T00:00")
    rows.commit_file(inside, "services/payments/app.py")
    outside = rows.commit(mono, "out", "2024-01-02T00:00")
    rows.commit_file(outside, "services/payments-old/app.py")  # a sibling, not under the path
    rows.pr(mono, 1, alice, "2024-01-03T00:00", merged="2024-01-04T00:00", commits=["in"])
    rows.pr(mono, 2, alice, "2024-01-03T00:00", merged="2024-01-04T00:00", commits=["out"])
    rows.pr(mono, 3, alice, "2024-01-03T00:00", merged="2024-01-04T00:00")
    rows.write(session)
    report = pr_flow(session, Scope(service="payments"), WINDOW, explain=True, now=LATER)
    assert [r["number"] for r in report["evidence"]["pull_requests"]["merged"]] == [1]
    assert (
        pr_flow(session, Scope(service="web"), WINDOW, now=LATER)["pull_requests"]["throughput"][
            "merged"
        ]
        == 0
    )


def test_bot_pattern_is_configurable(session: Session, prs: dict[str, str]) -> None:
    # With a pattern that matches nobody, dependabot[bot] is a person: its #4 is merged in
    # the window and its review of #1 (09:30) becomes #1's first review (0.5 h).
    report = pr_flow(session, Scope(repo="api"), WINDOW, bot_pattern="^nobody$", now=LATER)
    assert report["pull_requests"]["throughput"]["merged"] == 4
    # ci-helper stays a bot: its person is marked as one. Its #10 is still not WIP.
    assert report["pull_requests"]["wip"]["open"] == 3


def test_wip_is_measured_now_when_the_window_ends_in_the_future(
    session: Session, prs: dict[str, str]
) -> None:
    window = Window(utc("2024-01-01"), utc("2024-03-01"))
    report = pr_flow(session, Scope(repo="api"), window, now=utc("2024-01-12T12:00"))
    wip = report["pull_requests"]["wip"]
    # At 01-12 12:00: #5 (52 h), #7 (23.5 days = 564 h) and #8 (36 h) are open.
    assert wip["at"] == "2024-01-12T12:00:00Z"
    assert wip["open"] == 3
    assert wip["age"]["median_hours"] == 52.0
    assert wip["age_bands"]["up_to_3_days"] == 2


def test_an_empty_scope_has_null_figures(session: Session) -> None:
    FlowRows().write(session)
    figures = pr_flow(session, None, WINDOW, now=LATER)
    assert figures["pull_requests"]["time_to_first_review"] == {
        "pull_requests": 0,
        "median_hours": None,
        "p75_hours": None,
        "p90_hours": None,
    }
    assert figures["pull_requests"]["review_depth"]["mean_per_pull_request"] is None
    assert figures["bottleneck"]["stage"] is None
    assert figures["bottleneck"]["total_median_hours"] is None
    assert figures["bottleneck"]["trend"]["direction"] is None


def test_bad_arguments_fail_before_anything_is_computed(
    session: Session, prs: dict[str, str]
) -> None:
    with pytest.raises(InputError, match="unknown bucket 'year'"):
        pr_flow(session, None, WINDOW, bucket="year")
    with pytest.raises(InputError, match="bot pattern '\\(' is not a valid regular expression"):
        pr_flow(session, None, WINDOW, bot_pattern="(")
    with pytest.raises(NotFoundError, match="unknown repository 'nope'; known: api, web"):
        pr_flow(session, Scope(repo="nope"), WINDOW)

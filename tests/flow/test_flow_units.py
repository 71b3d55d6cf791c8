"""The rules under the flow metrics, checked without a database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flow_support import utc
from hypothesis import given
from hypothesis import strategies as st

from diogen.metrics.flow.actors import Actor
from diogen.metrics.flow.bottleneck import _direction, stages_of
from diogen.metrics.flow.pr_queries import PullRequestRow
from diogen.metrics.flow.pr_report import age_band, size_class
from diogen.metrics.flow.prs import PullRequestFacts
from diogen.metrics.flow.statuses import Transition, category, ordered, segments

T0 = utc("2024-01-01")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("new", "todo"),
        ("To Do", "todo"),
        ("indeterminate", "in_progress"),
        ("In Progress", "in_progress"),
        ("in-progress", "in_progress"),
        ("started", "in_progress"),
        ("Blocked", "waiting"),
        ("on_hold", "waiting"),
        ("done", "done"),
        ("Canceled", "done"),
        ("unstarted", "todo"),
        ("something else", None),
        (None, None),
    ],
)
def test_categories_of_jira_linear_and_others(raw: str | None, expected: str | None) -> None:
    assert category(raw) == expected


@pytest.mark.parametrize(
    ("lines", "name"),
    [
        (0, "XS"),
        (9, "XS"),
        (10, "S"),
        (29, "S"),
        (30, "M"),
        (99, "M"),
        (100, "L"),
        (499, "L"),
        (500, "XL"),
        (10**6, "XL"),
    ],
)
def test_size_classes(lines: int, name: str) -> None:
    assert size_class(lines) == name


@pytest.mark.parametrize(
    ("hours", "band"),
    [
        (0, "up_to_1_day"),
        (24, "up_to_1_day"),
        (24.01, "up_to_3_days"),
        (168, "up_to_7_days"),
        (720, "up_to_30_days"),
        (721, "over_30_days"),
    ],
)
def test_age_bands(hours: float, band: str) -> None:
    assert age_band(hours) == band


@pytest.mark.parametrize(
    ("first", "last", "direction"),
    [
        (10, 11, "steady"),
        (10, 9, "steady"),
        (10, 11.5, "worsening"),
        (10, 8, "improving"),
        (0, 0, "steady"),
        (0, 1, "worsening"),
    ],
)
def test_trend_direction_has_a_ten_percent_band(first: float, last: float, direction: str) -> None:
    assert _direction(first, last) == direction


def _move(hour: int, before: str, after: str) -> Transition:
    return Transition("i", before, after, None, None, T0 + timedelta(hours=hour))


def test_transitions_at_one_instant_follow_their_chain() -> None:
    # Stored in any order: A→B, B→C at 10:00 end in C. At 12:00 the issue is in C, so the
    # chain starts with the move that leaves C: C→B, then B→A.
    moves = [_move(10, "B", "C"), _move(10, "A", "B"), _move(12, "B", "A"), _move(12, "C", "B")]
    assert [(t.from_status, t.to_status) for t in ordered(moves)] == [
        ("A", "B"),
        ("B", "C"),
        ("C", "B"),
        ("B", "A"),
    ]


def test_segments_cover_the_span_and_clip_moves_outside_it() -> None:
    moves = ordered([_move(-5, "New", "Doing"), _move(10, "Doing", "Done"), _move(30, "Done", "X")])
    pieces = segments(T0, T0 + timedelta(hours=20), moves)
    # The move logged before creation starts "Doing" at creation; the one after the end is cut.
    assert [(p.status, p.hours) for p in pieces] == [("Doing", 10.0), ("Done", 10.0)]


@given(
    st.lists(
        st.tuples(st.integers(-50, 150), st.sampled_from("ABCD"), st.sampled_from("ABCD")),
        max_size=12,
    )
)
def test_segments_always_add_up_to_the_span(raw: list[tuple[int, str, str]]) -> None:
    history = ordered([_move(h, a, b) for h, a, b in raw])
    pieces = segments(T0, T0 + timedelta(hours=100), history)
    assert not history or abs(sum(p.hours for p in pieces) - 100) < 1e-9
    assert all(p.hours > 0 for p in pieces)


def _facts(**times: str | None) -> PullRequestFacts:
    row = PullRequestRow(
        id="p",
        repository_id="r",
        number=1,
        url=None,
        author_identity_id=None,
        state="merged",
        is_draft=False,
        created_at=utc(times.get("created") or "2024-01-01"),
        ready_for_review_at=None,
        first_review_at=None,
        merged_at=utc(times.get("merged") or "2024-01-05"),
        closed_at=None,
        additions=1,
        deletions=1,
    )
    review, commit = times.get("review"), times.get("commit")
    return PullRequestFacts(
        row,
        "r",
        Actor(None, None, None, None),
        utc(review) if review else None,
        "review" if review else None,
        0,
        0,
        utc(commit) if commit else None,
    )


def test_stages_clamp_out_of_order_times() -> None:
    # A commit authored after the pull request opened: coding 0, pickup from that commit.
    late = stages_of(_facts(created="2024-01-01", commit="2024-01-02", review="2024-01-03"))
    assert (late.coding, late.pickup, late.review) == (0.0, 24.0, 48.0)
    # A review after the merge: pickup runs to the merge and review is 0.
    after = stages_of(_facts(commit="2023-12-31", review="2024-01-09"))
    assert (after.coding, after.pickup, after.review) == (24.0, 96.0, 0.0)

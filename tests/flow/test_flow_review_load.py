"""Golden review load per person (`flow_cases.pull_requests`, repository "api", window Monday
2024-01-01 to Monday 2024-01-15), every number counted by hand in comments; SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from flow_cases import LATER, WINDOW, core_team, pull_requests
from flow_support import FlowRows, utc
from sqlalchemy import event
from sqlalchemy.orm import Session

from diogen.errors import InputError, NotFoundError
from diogen.ids import stable_id
from diogen.metrics import Scope, Window
from diogen.metrics.flow import review_load


@pytest.fixture
def prs(session: Session) -> dict[str, str]:
    rows = FlowRows()
    ids = pull_requests(rows)
    core_team(rows)
    rows.write(session)
    return ids


def _person(login: str) -> str:
    return stable_id("test", "person", login)


def test_golden_review_load(session: Session, prs: dict[str, str]) -> None:
    report = review_load(session, Scope(repo="api"), WINDOW, explain=True, now=LATER)

    # bob: reviews of #1 (01-02 13:00) and #5 (01-10 20:00), two comments on #1.
    # carol: two submitted reviews of #2 (the pending one has no submit time), three comments.
    # Most reviews first; on a tie, most comments (carol), then the name.
    assert report["people"] == [
        {
            "person_id": _person("carol"),
            "name": "carol",
            "reviews": 2,
            "pull_requests_reviewed": 1,
            "review_comments": 3,
            "share_of_reviews": 0.5,
        },
        {
            "person_id": _person("bob"),
            "name": "bob",
            "reviews": 2,
            "pull_requests_reviewed": 2,
            "review_comments": 2,
            "share_of_reviews": 0.5,
        },
    ]
    assert (report["reviews"], report["review_comments"]) == (4, 5)
    assert report["window"] == {"from": "2024-01-01T00:00:00Z", "to": "2024-01-15T00:00:00Z"}
    # Left out on #1: alice's own review (as alice-git) and comment, dependabot's review.
    excluded = {(e["identity"], e["kind"], e["reason"]) for e in report["evidence"]["excluded"]}
    assert excluded == {
        ("alice-git", "review", "author_review"),
        ("alice", "review_comment", "author_review_comment"),
        ("dependabot[bot]", "review", "bot_reviewer"),
    }


def test_a_window_and_a_team_narrow_the_load(session: Session, prs: dict[str, str]) -> None:
    # Only 01-10 onwards: bob's review of #5.
    late = review_load(session, Scope(repo="api"), Window(utc("2024-01-10"), utc("2024-01-15")))
    assert [(p["name"], p["reviews"], p["review_comments"]) for p in late["people"]] == [
        ("bob", 1, 0)
    ]
    # Team core (alice throughout, bob until 01-06): pull requests its members opened while
    # members: #1 and #5 (alice's), #2 (bob's, opened 01-03). Their reviewers: bob and carol.
    team = review_load(session, Scope(team="core"), WINDOW)
    assert {p["name"]: p["reviews"] for p in team["people"]} == {"bob": 2, "carol": 2}
    assert "evidence" not in team


def test_bad_input(session: Session, prs: dict[str, str]) -> None:
    with pytest.raises(InputError):
        review_load(session, Scope(repo="api"), WINDOW, bot_pattern="(")
    with pytest.raises(NotFoundError):
        review_load(session, Scope(repo="nope"), WINDOW)
    empty = review_load(session, Scope(repo="web"), WINDOW)
    assert empty["people"] == [] and empty["reviews"] == 0


def test_four_queries_whatever_the_data_size(session: Session, prs: dict[str, str]) -> None:
    def statements() -> int:
        executed: list[str] = []

        def record(*args: object) -> None:
            executed.append(str(args[2]))

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            review_load(session, None, WINDOW, explain=True)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(executed)

    assert statements() == 4
    more = FlowRows()
    alice = more.person("alice")
    repo = more.repo("busy")
    for day in range(1, 15):
        pr = more.pr(repo, day, alice, f"2024-01-{day:02d}T00:00")
        more.review(pr, more.person(f"reviewer{day}"), f"2024-01-{day:02d}T04:00")
        more.comment(pr, more.person(f"reviewer{day}"), f"2024-01-{day:02d}T05:00")
    more.write(session)
    assert statements() == 4
    assert len(review_load(session, None, WINDOW)["people"]) == 2 + 14

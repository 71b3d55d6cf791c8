"""The golden data sets behind tests/flow and the worked examples of docs/flow.md.

No tests live here. Each function adds its rows to a `FlowRows` and returns the ids the tests
look for. Times are UTC. The window of every golden case is Monday 2024-01-01 to Monday
2024-01-15: two full weeks.
"""

from __future__ import annotations

from flow_support import FlowRows, utc

from diogen.ids import stable_id
from diogen.metrics import Window

WINDOW = Window(utc("2024-01-01"), utc("2024-01-15"))
LATER = utc("2024-02-01")  # "now" for the golden reports: after the window


def people(rows: FlowRows) -> dict[str, str]:
    """alice, bob and carol; dependabot[bot] (a bot by its login only); ci-helper (a person
    marked as a bot); alice-git (a second identity of alice)."""
    ids = {name: rows.person(name) for name in ("alice", "bob", "carol", "dependabot[bot]")}
    ids["ci-helper"] = rows.person("ci-helper", person_bot=True)
    ids["alice-git"] = rows.identity("alice-git", stable_id("test", "person", "alice"))
    return ids


def pull_requests(rows: FlowRows) -> dict[str, str]:
    """Repository "api" (numbers 1-11) and one pull request in repository "web"."""
    who = people(rows)
    api, web = rows.repo("api"), rows.repo("web")
    rows.commit(api, "c1", "2024-01-01T09:00")
    rows.commit(api, "c2", "2024-01-02T08:00")
    rows.commit(api, "c3", "2024-01-03T08:00")
    pr = {}
    # #1 alice: coding 01-01 09:00 → 01-02 09:00 (24 h), pickup → 13:00 (4 h), review → 17:00.
    pr["1"] = rows.pr(
        api,
        1,
        who["alice"],
        "2024-01-02T09:00",
        merged="2024-01-02T17:00",
        size=(20, 5),
        commits=["c1", "c2"],
    )
    rows.review(pr["1"], who["alice-git"], "2024-01-02T10:00", "COMMENTED")  # the author
    rows.review(pr["1"], who["dependabot[bot]"], "2024-01-02T09:30")  # a bot
    rows.review(pr["1"], who["bob"], "2024-01-02T13:00")
    rows.comment(pr["1"], who["bob"], "2024-01-02T12:00")
    rows.comment(pr["1"], who["bob"], "2024-01-02T12:30")
    rows.comment(pr["1"], who["alice"], "2024-01-02T14:00")  # the author
    # #2 bob, a draft until 01-04 10:00: coding 26 h, pickup 24 h, review 72 h.
    pr["2"] = rows.pr(
        api,
        2,
        who["bob"],
        "2024-01-03T10:00",
        ready="2024-01-04T10:00",
        merged="2024-01-08T10:00",
        size=(300, 100),
        commits=["c3"],
    )
    rows.review(pr["2"], who["carol"], "2024-01-05T10:00", "CHANGES_REQUESTED")
    rows.review(pr["2"], who["carol"], "2024-01-05T16:00")
    for minute in ("10", "20", "30"):
        rows.comment(pr["2"], who["carol"], f"2024-01-05T10:{minute}")
    rows.review(pr["2"], who["carol"], None, "PENDING")  # never submitted
    # #3 carol: no known commit, no review; review stage 3 h.
    pr["3"] = rows.pr(
        api, 3, who["carol"], "2024-01-09T09:00", merged="2024-01-09T12:00", size=(3, 2)
    )
    # #4 a bot's, merged in the window.
    pr["4"] = rows.pr(
        api, 4, who["dependabot[bot]"], "2024-01-05T00:00", merged="2024-01-05T12:00", size=(1, 1)
    )
    # #5 alice, open, first reviewed 12 h after opening.
    pr["5"] = rows.pr(api, 5, who["alice"], "2024-01-10T08:00")
    rows.review(pr["5"], who["bob"], "2024-01-10T20:00", "COMMENTED")
    # #6 bob, an open draft.
    pr["6"] = rows.pr(api, 6, who["bob"], "2024-01-12T00:00", draft=True)
    # #7 carol, open since before the window.
    pr["7"] = rows.pr(api, 7, who["carol"], "2023-12-20T00:00")
    # #8 alice, merged exactly at the window's end: still open at the end.
    pr["8"] = rows.pr(
        api, 8, who["alice"], "2024-01-11T00:00", merged="2024-01-15T00:00", size=(1000, 0)
    )
    # #9 bob, merged before the window.
    pr["9"] = rows.pr(api, 9, who["bob"], "2023-12-01T00:00", merged="2023-12-05T00:00")
    # #10 ci-helper (a bot person), open.
    pr["10"] = rows.pr(api, 10, who["ci-helper"], "2024-01-08T00:00")
    # #11 carol, closed at an unknown time.
    pr["11"] = rows.pr(api, 11, who["carol"], "2024-01-03T00:00", state="closed")
    # web #1 alice, merged in the window: outside the "api" scope.
    pr["web1"] = rows.pr(
        web,
        1,
        who["alice"],
        "2024-01-03T00:00",
        merged="2024-01-04T00:00",
        size=(50, 0),
        first_review="2024-01-03T06:00",
    )
    return pr


def core_team(rows: FlowRows) -> None:
    """Team "core": alice throughout, bob until 01-06 (so his #6 of 01-12 is not the team's)."""
    rows.team("core", [("alice", "2023-01-01", None), ("bob", "2023-01-01", "2024-01-06")])


NEW, STARTED, DONE = "new", "indeterminate", "done"  # Jira's status category keys


def issues(rows: FlowRows) -> dict[str, str]:
    """ENG-1 … ENG-8; see docs/flow.md for the worked numbers."""
    who = people(rows)
    issue = {}
    issue["1"] = rows.issue(
        "ENG-1",
        "2024-01-01T00:00",
        resolved="2024-01-05T00:00",
        status="Done",
        category=DONE,
        assignee=who["alice"],
        moves=[
            ("2024-01-02T00:00", "To Do", "In Progress", NEW, STARTED),
            ("2024-01-03T00:00", "In Progress", "Blocked", STARTED, STARTED),
            ("2024-01-04T00:00", "Blocked", "In Progress", STARTED, STARTED),
            ("2024-01-05T00:00", "In Progress", "Done", STARTED, DONE),
        ],
    )
    issue["2"] = rows.issue(
        "ENG-2",
        "2024-01-03T00:00",
        resolved="2024-01-07T00:00",
        status="Done",
        category=DONE,
        assignee=who["bob"],
        moves=[
            ("2024-01-03T12:00", "To Do", "In Progress", NEW, STARTED),
            ("2024-01-04T12:00", "In Progress", "Ready for QA", STARTED, STARTED),
            ("2024-01-07T00:00", "Ready for QA", "Done", STARTED, DONE),
        ],
    )
    issue["3"] = rows.issue(
        "ENG-3",
        "2024-01-05T00:00",
        resolved="2024-01-08T00:00",
        status="Done",
        category=DONE,
        assignee=who["carol"],
        moves=[
            ("2024-01-08T00:00", "To Do", "Done", NEW, DONE),
        ],
    )
    issue["4"] = rows.issue(
        "ENG-4",
        "2023-12-25T00:00",
        resolved="2024-01-10T00:00",
        status="Done",
        category=DONE,
        assignee=who["alice"],
    )
    issue["5"] = rows.issue(
        "ENG-5",
        "2024-01-08T00:00",
        resolved="2024-01-09T00:00",
        status="Done",
        category=DONE,
        assignee=who["dependabot[bot]"],
    )
    issue["6"] = rows.issue(
        "ENG-6", "2023-12-20T00:00", resolved="2023-12-30T00:00", status="Done", category=DONE
    )
    issue["7"] = rows.issue(
        "ENG-7",
        "2024-01-07T00:00",
        status="Done",
        category=DONE,
        assignee=who["bob"],
        moves=[
            ("2024-01-08T00:00", "To Do", "In Progress", NEW, STARTED),
            ("2024-01-10T00:00", "In Progress", "Done", STARTED, DONE),
        ],
    )
    issue["8"] = rows.issue(
        "ENG-8",
        "2024-01-02T00:00",
        status="In Progress",
        category=STARTED,
        moves=[
            ("2024-01-03T00:00", "To Do", "In Progress", NEW, STARTED),
        ],
    )
    return issue


def sprint(rows: FlowRows) -> dict[str, str]:
    """Sprint "S1" with SP-1 … SP-7; see docs/flow.md for the worked numbers."""
    who = people(rows)
    s1 = rows.sprint(
        "S1",
        started="2024-01-01T10:00",
        completed="2024-01-12T10:00",
        planned=("2024-01-01T09:00", "2024-01-12T17:00"),
    )
    ids = {"S1": s1}

    def add(key: str, points: float | None, **fields: object) -> str:
        ids[key] = rows.issue(key, "2023-12-28T00:00", points=points, **fields)  # type: ignore[arg-type]
        return ids[key]

    add(
        "SP-1",
        3,
        status="Done",
        category=DONE,
        resolved="2024-01-04T12:00",
        assignee=who["alice"],
        moves=[
            ("2024-01-02T00:00", "To Do", "In Progress", NEW, STARTED),
            ("2024-01-04T12:00", "In Progress", "Done", STARTED, DONE),
        ],
    )
    add(
        "SP-2",
        5,
        status="In Progress",
        category=STARTED,
        assignee=who["bob"],
        moves=[
            ("2024-01-03T00:00", "To Do", "In Progress", NEW, STARTED),
        ],
    )
    add("SP-3", 2, assignee=who["carol"])
    add(
        "SP-4",
        5,
        status="Done",
        category=DONE,
        resolved="2024-01-10T00:00",
        assignee=who["alice"],
        moves=[
            ("2024-01-10T00:00", "To Do", "Done", NEW, DONE),
        ],
    )
    add(
        "SP-5",
        1,
        status="Done",
        category=DONE,
        resolved="2024-01-02T00:00",
        assignee=who["bob"],
        sprint=s1,
    )
    add("SP-6", 13, assignee=who["carol"])
    add("SP-7", 8, assignee=who["dependabot[bot]"])
    for key in ("SP-1", "SP-2", "SP-3", "SP-7"):
        rows.scope(s1, ids[key], "added", "2023-12-29T00:00", None)
    rows.scope(s1, ids["SP-3"], "removed", "2024-01-05T00:00", None)
    rows.scope(s1, ids["SP-4"], "added", "2024-01-03T00:00", 8)  # estimated 8 then, 5 now
    rows.scope(s1, ids["SP-6"], "added", "2024-01-06T00:00", 13)
    rows.scope(s1, ids["SP-6"], "removed", "2024-01-08T00:00", 13)
    return ids

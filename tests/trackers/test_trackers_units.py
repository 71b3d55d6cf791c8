"""Pure pieces: issue keys, status categories, times, Server sprint strings, the changelog
rebuild, and Atlassian's published examples through the normaliser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jira_cases import utc

from diogen.connectors.base import RawItem
from diogen.connectors.jira.config import IncidentRules
from diogen.connectors.jira.connector import normalize
from diogen.connectors.jira.history import FieldRef, ScopeHistory, changes
from diogen.connectors.jira.issues import JiraContext
from diogen.connectors.jira.sprints import field_sprints
from diogen.connectors.trackers import issue_keys, parse_time, status_category
from diogen.errors import RejectedRecord

CTX = JiraContext("jira@example.atlassian.net", IncidentRules(), r"\[bot\]")
EXAMPLES = "jira-openapi/examples"


@pytest.mark.parametrize(
    ("text", "projects", "keys"),
    [
        ("PROJ-12: fix login (see PROJ-7, PROJ-12)", None, ["PROJ-12", "PROJ-7"]),
        ("feature/proj-12-login", ["PROJ"], ["PROJ-12"]),
        ("feature/proj-12-login", None, []),  # lower case needs the project list
        ("bump UTF-8 and SHA-256 handling for AB-3", None, ["AB-3"]),
        ("OTHER-1 and DIO-2", ["dio"], ["DIO-2"]),
        ("A-1 X-AB-2 DIO-0 DIO-12a", None, []),
        (None, None, []),
    ],
)
def test_issue_keys(text: str | None, projects: list[str] | None, keys: list[str]) -> None:
    assert issue_keys(text, projects) == keys


def test_status_categories_of_every_tracker() -> None:
    expected = {
        "new": "todo",
        "indeterminate": "in_progress",
        "done": "done",
        "In Progress": "in_progress",
        "in-flight": "in_progress",
        "completed": "done",
        "backlog": "todo",
        "unstarted": "todo",
        "started": "in_progress",
        "canceled": "done",
        "undefined": None,
        None: None,
    }
    assert {raw: status_category(raw) for raw in expected} == expected


def test_times() -> None:
    assert parse_time("2015-04-11T15:22:00.000+10:00") == utc("2015-04-11T05:22")
    assert parse_time(1492070429) == datetime.fromtimestamp(1492070429, UTC)
    assert parse_time(1485797534721) == datetime.fromtimestamp(1485797534.721, UTC)
    with pytest.raises(ValueError, match="without a zone"):
        parse_time("2024-01-01T10:00:00")


def test_server_sprint_strings() -> None:
    text = (
        "com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=5,rapidViewId=2,state=CLOSED,"
        "name=Sprint, the first,goal=,startDate=2024-01-08T09:00:00.000Z,"
        "endDate=2024-01-19T17:00:00.000Z,completeDate=<null>,sequence=5]"
    )
    (sprint,) = field_sprints([text])
    assert (sprint["id"], sprint["name"], sprint["state"]) == ("5", "Sprint, the first", "closed")
    assert (sprint["goal"], sprint["completeDate"]) == (None, None)
    with pytest.raises(ValueError, match="without an id"):
        field_sprints(["Sprint@1[name=x]"])


def history(at: str, *items: dict[str, object]) -> dict[str, object]:
    return {"id": at, "created": at + ":00.000+0000", "items": list(items)}


SPRINT = FieldRef("customfield_10020", "Sprint")
POINTS = FieldRef("customfield_10026", "Story Points")


def test_the_state_at_creation_is_the_current_one_with_changes_undone() -> None:
    log = changes(
        [
            history(
                "2024-01-05T10:00", {"field": "Story Points", "fromString": "2", "toString": "3"}
            ),
            history("2024-01-06T10:00", {"field": "Sprint", "from": "7", "to": "7, 8"}),
            history(
                "2024-01-07T10:00", {"field": "Story Points", "fromString": "3", "toString": ""}
            ),
        ]
    )
    rebuilt = ScopeHistory(
        utc("2024-01-01T00:00"), {"7", "8"}, None, SPRINT, POINTS, {"8": utc("2024-01-06T12:00")}
    )
    events = [(e.sprint, e.change, e.points, e.at) for e in rebuilt.events(log)]
    assert events == [
        ("7", "added", 2.0, utc("2024-01-01T00:00")),  # created in sprint 7 with 2 points
        ("7", "added", 3.0, utc("2024-01-05T10:00")),  # re-estimated
        ("8", "added", 3.0, utc("2024-01-06T10:00")),
        ("7", "added", None, utc("2024-01-07T10:00")),  # estimate cleared; 8 had completed
    ]


def test_sprint_changes_without_ids_are_rejected() -> None:
    log = changes(
        [history("2024-01-05T10:00", {"field": "Sprint", "fromString": "S1", "toString": "S2"})]
    )
    rebuilt = ScopeHistory(utc("2024-01-01T00:00"), set(), None, SPRINT, POINTS, {})
    with pytest.raises(ValueError, match="without ids"):
        rebuilt.events(log)


def test_published_examples(shared_data: Path) -> None:
    """Atlassian's own examples: the sprint reads; the search example's issue has no
    creation time, so it is rejected (and would be quarantined) rather than guessed."""
    sprint = json.loads(
        (
            shared_data / EXAMPLES / "software/get_rest_agile_1.0_sprint_sprintId.200.json"
        ).read_text()
    )
    (row,) = normalize(CTX, RawItem("sprints", "37", {"sprint": sprint, "board": {"id": 5}}))
    assert (row.values["name"], row.values["state"], row.values["board"]) == (
        "sprint 1",
        "closed",
        "5",
    )
    assert row.values["started_at"] == utc("2015-04-11T05:22")
    assert row.values["completed_at"] == utc("2015-04-20T01:04")
    search = json.loads(
        (shared_data / EXAMPLES / "platform/get_rest_api_3_search_jql.200.json").read_text()
    )
    issue = search["issues"][0]
    with pytest.raises(RejectedRecord, match="ED-1 has no creation time"):
        normalize(
            CTX, RawItem("issues", issue["id"], {"issue": issue, "changelog": [], "meta": {}})
        )
    issue["fields"]["created"] = "2023-06-24T19:24:50.000+0000"
    rows = normalize(
        CTX, RawItem("issues", issue["id"], {"issue": issue, "changelog": [], "meta": {}})
    )
    (values,) = [r.values for r in rows if r.table.name == "issue"]
    assert (values["key"], values["project"], values["url"]) == (
        "ED-1",
        "EX",
        "https://your-domain.atlassian.net/browse/ED-1",
    )
    bulk = json.loads(
        (
            shared_data / EXAMPLES / "platform/post_rest_api_3_changelog_bulkfetch.200.json"
        ).read_text()
    )
    log = changes(bulk["issueChangeLogs"][0]["changeHistories"])
    assert [c.at for c in log] == [
        datetime.fromtimestamp(1492070429, UTC),
        datetime.fromtimestamp(1492071429, UTC),
    ]

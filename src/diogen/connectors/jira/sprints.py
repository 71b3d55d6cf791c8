"""Jira sprints: from the Agile API, and as issues' Sprint field shows them.

Cloud's Sprint field holds objects; Server's REST v2 holds each sprint's Java `toString`
('com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=1,rapidViewId=2,state=CLOSED,…]').
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.connectors.trackers import parse_time
from diogen.ids import stable_id
from diogen.silver import Sprint
from diogen.silver.base import table_of

SPRINT = table_of(Sprint)
SERVER_PAIR = re.compile(r"(\w+)=(.*?)(?=,\w+=|\]$)")


def sprint_id(source: str, external_id: object) -> str:
    return stable_id(source, "sprint", str(external_id))


def field_sprints(value: Any) -> list[dict[str, Any]]:
    """The Sprint field's value (objects or Server strings) as Agile-API-like objects."""
    if not value:
        return []
    if not isinstance(value, list):
        raise TypeError(f"Sprint field is not a list: {value!r}")
    return [entry if isinstance(entry, dict) else _server_sprint(str(entry)) for entry in value]


def _server_sprint(text: str) -> dict[str, Any]:
    start = text.find("[")
    pairs = dict(SERVER_PAIR.findall(text[start + 1 :] if start >= 0 else text))
    values = {k: (None if v in ("<null>", "") else v) for k, v in pairs.items()}
    if not values.get("id"):
        raise ValueError(f"Sprint field entry without an id: {text!r}")
    return {
        "id": values["id"],
        "name": values.get("name") or f"Sprint {values['id']}",
        "state": (values.get("state") or "").lower() or None,
        "goal": values.get("goal"),
        "startDate": values.get("startDate"),
        "endDate": values.get("endDate"),
        "completeDate": values.get("completeDate"),
        "activatedDate": values.get("activatedDate"),
        "originBoardId": values.get("rapidViewId"),
    }


def sprint_values(source: str, sprint: Mapping[str, Any], board: str | None) -> dict[str, Any]:
    state = (sprint.get("state") or "").lower() or None
    planned_start = parse_time(sprint.get("startDate"))
    started = parse_time(sprint.get("activatedDate"))
    if started is None and state in ("active", "closed"):
        started = planned_start
    return {
        "id": sprint_id(source, sprint["id"]),
        "board": board,
        "name": str(sprint.get("name") or f"Sprint {sprint['id']}"),
        "state": state,
        "goal": sprint.get("goal") or None,
        "planned_start": planned_start,
        "planned_end": parse_time(sprint.get("endDate")),
        "started_at": started,
        "completed_at": parse_time(sprint.get("completeDate")),
        "source": source,
        "external_id": str(sprint["id"]),
        "url": None,
    }


def board_sprint_rows(source: str, payload: Mapping[str, Any]) -> list[SilverRow]:
    """A sprint from a board's sprint list: the full row, over whatever an issue said."""
    board = payload.get("board") or {}
    label = board.get("name") or (str(board["id"]) if board.get("id") is not None else None)
    return [SilverRow(SPRINT, sprint_values(source, payload["sprint"], label))]


def known_sprint_row(source: str, sprint: Mapping[str, Any]) -> SilverRow:
    """A sprint as an issue shows it: stored only if no fuller row exists yet."""
    return SilverRow(SPRINT, sprint_values(source, sprint, None), ())


def current_sprint(sprints: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The sprint an issue is in now: an active one, else a future one, else the last listed
    (Jira lists an issue's sprints in the order it entered them)."""
    for state in ("active", "future"):
        for sprint in sprints:
            if str(sprint.get("state") or "").lower() == state:
                return sprint
    return sprints[-1] if sprints else None

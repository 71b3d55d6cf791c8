"""A Linear webhook delivery of an issue (`type` "Issue", `action` "create" or "update") as
the raw issue record a sync writes, so one normaliser reads both.

A delivery holds the issue as it is now (`data`) and, for an update, the previous values of
what changed (`updatedFrom`: `stateId`, `cycleId`, `estimate`, `assigneeId`, …). The change
becomes one history entry at the issue's `updatedAt`; a previous state is named from the
team's workflow states as the last sync stored them (`states`), else by id only. The cycles it
mentions carry what silver knows of their end (`cycles`), for carry-over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ISSUE_ACTIONS = ("create", "update")


def issue_identifier(data: Mapping[str, Any]) -> str:
    """Deliveries carry no `identifier`: it is the team's key and the issue's number."""
    if data.get("identifier"):
        return str(data["identifier"])
    team, number = (data.get("team") or {}).get("key"), data.get("number")
    if not team or not isinstance(number, int | float):
        raise ValueError("Linear issue delivery without team key and number")
    return f"{team}-{int(number)}"


def webhook_issue(data: Mapping[str, Any], url: str | None) -> dict[str, Any]:
    """The issue in the shape the sync's GraphQL query returns."""
    cycle = data.get("cycle") or ({"id": data["cycleId"]} if data.get("cycleId") else None)
    parent = {"id": data["parentId"]} if data.get("parentId") else None
    return {
        "id": data["id"],
        "identifier": issue_identifier(data),
        "title": data.get("title"),
        "url": url or data.get("url"),
        "estimate": data.get("estimate"),
        "createdAt": data["createdAt"],
        "updatedAt": data.get("updatedAt"),
        "startedAt": data.get("startedAt"),
        "completedAt": data.get("completedAt"),
        "canceledAt": data.get("canceledAt"),
        "archivedAt": data.get("archivedAt"),
        "state": data.get("state"),
        "assignee": data.get("assignee"),
        "cycle": {"id": cycle["id"]} if cycle else None,
        "project": data.get("project"),
        "parent": parent,
        "team": data.get("team"),
    }


def change_entry(
    payload: Mapping[str, Any], states: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The history entry of an update's `updatedFrom`, or None when nothing tracked changed."""
    data, before = payload["data"], payload.get("updatedFrom") or {}
    entry: dict[str, Any] = {
        "id": f"webhook:{data['id']}:{data.get('updatedAt')}",
        "createdAt": data.get("updatedAt"),
        "actor": payload.get("actor"),
    }
    if "stateId" in before:
        old = states.get(str(before["stateId"])) or {}
        entry["fromState"] = {"id": before["stateId"], **old}
        entry["toState"] = data.get("state")
    if "cycleId" in before:
        entry["fromCycleId"], entry["toCycleId"] = before["cycleId"], data.get("cycleId")
    if "estimate" in before:
        entry["fromEstimate"], entry["toEstimate"] = before["estimate"], data.get("estimate")
    if "assigneeId" in before:
        entry["fromAssigneeId"], entry["toAssigneeId"] = (
            before["assigneeId"],
            data.get("assigneeId"),
        )
    return entry if len(entry) > 3 else None


def webhook_record(
    payload: Mapping[str, Any],
    states: Mapping[str, Mapping[str, Any]],
    cycles: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any] | None:
    """The raw issue record of an issue delivery; None for anything else."""
    if payload.get("type") != "Issue" or payload.get("action") not in ISSUE_ACTIONS:
        return None
    data = payload.get("data")
    if not isinstance(data, dict):
        raise TypeError("Linear issue delivery without data")
    issue = webhook_issue(data, payload.get("url"))
    entry = change_entry(payload, states) if payload["action"] == "update" else None
    history = [entry] if entry else []
    mentioned = {str(c) for c in (data.get("cycleId"), (entry or {}).get("fromCycleId")) if c}
    known = dict(cycles)
    if data.get("cycle"):
        known.setdefault(str(data["cycle"]["id"]), data["cycle"])
    return {
        "issue": issue,
        "history": history,
        "meta": {"cycles": {c: known[c] for c in sorted(mentioned) if c in known}},
    }

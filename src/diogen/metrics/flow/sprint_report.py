"""Sprint figures as JSON: committed vs completed, scope change, carry-over, burndown/burnup.

- committed: the scope at the sprint's start instant;
- added / removed after start: issues that entered (were not in at the start) or left (and
  stayed out) after the start, up to the end;
- completed: the scope at the end that is done then; carry-over: the rest of it, reported
  once the sprint is complete; completion ratio: completed points / committed points.
The series samples the start, every UTC midnight inside the sprint and the end (or now, for a
sprint still running): burndown is `remaining_points`, burnup `completed_points` against
`scope_points`; `ideal_remaining_points` falls in a straight line from the committed points.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from diogen.metrics.flow.common import iso, points_json, share
from diogen.metrics.flow.sprint_scope import SprintIssue, tally
from diogen.metrics.flow.sprints import SprintData
from diogen.metrics.stats import median
from diogen.metrics.window import bucket_floor

DAY = timedelta(days=1)


def _work(items: Sequence[SprintIssue], moment: datetime) -> dict[str, Any]:
    count, points = tally(list(items), moment)
    return {"issues": count, "points": points_json(points)}


def _head(data: SprintData) -> dict[str, Any]:
    sprint = data.sprint
    return {
        "id": sprint.id,
        "name": sprint.name,
        "board": sprint.board,
        "state": sprint.state,
        "url": sprint.url,
        "start": iso(data.start),
        "end": iso(data.end),
        "as_of": iso(data.as_of),
        "is_complete": data.is_complete,
        "planned_start": iso(sprint.planned_start),
        "planned_end": iso(sprint.planned_end),
        "started_at": iso(sprint.started_at),
        "completed_at": iso(sprint.completed_at),
    }


def _parts(data: SprintData) -> dict[str, list[SprintIssue]]:
    assert data.start is not None and data.as_of is not None
    start, at = data.start, data.as_of
    scope = [i for i in data.issues if i.in_scope(at)]
    return {
        "committed": [i for i in data.issues if i.in_scope(start)],
        "added": [i for i in data.issues if not i.in_scope(start) and i.added_between(start, at)],
        "removed": [i for i in data.issues if i.removed_between(start, at)],
        "scope": scope,
        "completed": [i for i in scope if i.done(at)],
        "open": [i for i in scope if not i.done(at)],
    }


def sprint_figures(data: SprintData) -> dict[str, Any]:
    """Everything but the series; every figure is null for a sprint that has not started."""
    names = ("committed", "added_after_start", "removed_after_start", "completed", "carry_over")
    if data.start is None or data.as_of is None:
        empty = {name: None for name in (*names, "scope_at_end", "completion_ratio")}
        return {**_head(data), **empty, "unestimated_issues": None}
    parts, at = _parts(data), data.as_of
    committed = _work(parts["committed"], data.start)
    completed = _work(parts["completed"], at)
    removed = parts["removed"]
    return {
        **_head(data),
        "committed": committed,
        "added_after_start": _work(parts["added"], at),
        "removed_after_start": {
            "issues": len(removed),
            "points": points_json(sum(i.removed_points(at) or 0.0 for i in removed)),
        },
        "completed": completed,
        "carry_over": _work(parts["open"], at) if data.is_complete else None,
        "scope_at_end": _work(parts["scope"], at),
        "completion_ratio": share(completed["points"], committed["points"]),
        "unestimated_issues": sum(i.points(at) is None for i in parts["scope"]),
    }


def sample_times(start: datetime, as_of: datetime) -> list[datetime]:
    times = [start]
    day = bucket_floor(start, "day") + DAY
    while day < as_of:
        times.append(day)
        day += DAY
    if as_of > start:
        times.append(as_of)
    return times


def series(data: SprintData) -> list[dict[str, Any]]:
    """Scope, completed, remaining and ideal remaining points at each sample time."""
    if data.start is None or data.as_of is None or data.end is None:
        return []
    start, end = data.start, data.end
    committed = tally([i for i in data.issues if i.in_scope(start)], start)[1]
    length = (end - start).total_seconds()
    points = []
    for moment in sample_times(start, data.as_of):
        scope = [i for i in data.issues if i.in_scope(moment)]
        total = tally(scope, moment)[1]
        done = tally([i for i in scope if i.done(moment)], moment)[1]
        left = (end - moment).total_seconds() / length if length > 0 else 0.0
        points.append(
            {
                "at": iso(moment),
                "scope_points": points_json(total),
                "completed_points": points_json(done),
                "remaining_points": points_json(total - done),
                "ideal_remaining_points": points_json(committed * max(0.0, left)),
            }
        )
    return points


def _outcome(item: SprintIssue, data: SprintData) -> str:
    assert data.as_of is not None
    if not item.in_scope(data.as_of):
        return "removed"
    if item.done(data.as_of):
        return "completed"
    return "carried_over" if data.is_complete else "open"


def sprint_evidence(data: SprintData) -> dict[str, Any]:
    if data.start is None or data.as_of is None:
        rows: list[dict[str, Any]] = []
    else:
        start, at = data.start, data.as_of
        rows = [
            {
                "id": item.row.id,
                "key": item.row.key,
                "assignee": item.assignee.shown,
                "source": "issue.sprint_id" if item.from_field else "scope_history",
                "committed": item.in_scope(start),
                "added_at": iso(item.added_between(start, at)),
                "removed_at": iso(item.removed_between(start, at)),
                "points": points_json(item.points(at)),
                "outcome": _outcome(item, data),
            }
            for item in data.issues
        ]
    excluded = [
        {
            "kind": "issue",
            "id": item.row.id,
            "key": item.row.key,
            "metric": "all",
            "reason": "bot_assignee",
            "detail": item.assignee.bot,
        }
        for item in data.bots
    ]
    return {"issues": rows, "excluded": excluded}


def velocity_section(sprints: Sequence[SprintData]) -> dict[str, Any]:
    """Complete sprints' committed and completed points, and their velocity."""
    figures = [sprint_figures(data) for data in sprints if data.is_complete]
    done = [f["completed"]["points"] for f in figures if f["completed"] is not None]
    committed = [f["committed"]["points"] for f in figures if f["committed"] is not None]
    return {
        "sprints": len(figures),
        "mean_completed_points": points_json(sum(done) / len(done) if done else None),
        "median_completed_points": points_json(median(done)),
        "mean_committed_points": points_json(
            sum(committed) / len(committed) if committed else None
        ),
        "completion_ratio": share(sum(done), sum(committed)),
        "items": figures,
    }

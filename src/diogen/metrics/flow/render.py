"""A flow report as a plain-text summary for people; JSON is the format for machines."""

from __future__ import annotations

from typing import Any

from diogen.metrics.render import NONE, hours_text, percent_text, scope_title, text_table


def _durations(section: dict[str, Any] | None, count_key: str) -> str:
    if not section:
        return NONE
    return (
        f"{section[count_key]} {count_key}; median {hours_text(section['median_hours'])}, "
        f"p75 {hours_text(section['p75_hours'])}, p90 {hours_text(section['p90_hours'])}"
    )


def _pull_request_rows(prs: dict[str, Any]) -> list[list[Any]]:
    size, depth, wip = prs["size"], prs["review_depth"], prs["wip"]
    return [
        [
            "PR throughput",
            f"{prs['throughput']['merged']} merged, {prs['throughput']['per_week']:g}/week",
        ],
        [
            "PR size (lines)",
            f"median {size['median_lines'] or NONE}, p90 {size['p90_lines'] or NONE}",
        ],
        ["Time to first review", _durations(prs["time_to_first_review"], "pull_requests")],
        ["Review depth", f"median {depth['median_per_pull_request'] or NONE} per PR"],
        [
            "Work in progress",
            f"{wip['open']} open; median age {hours_text(wip['age']['median_hours'])}",
        ],
    ]


def _bottleneck_rows(bottleneck: dict[str, Any] | None) -> list[list[Any]]:
    if not bottleneck or bottleneck.get("stage") is None:
        return [["Bottleneck", NONE]]
    trend = bottleneck.get("trend") or {}
    return [
        [
            "Bottleneck",
            f"{bottleneck['stage']} ({percent_text(bottleneck['share'])} of the median cycle), "
            f"{trend.get('direction', 'no trend')}",
        ]
    ]


def _issue_rows(issues: dict[str, Any] | None) -> list[list[Any]]:
    if not issues:
        return []
    efficiency = issues["flow_efficiency"]["efficiency"]
    return [
        [
            "Issues completed",
            f"{issues['completed']['issues']}, {issues['completed']['per_week']:g}/week",
        ],
        ["Issue cycle time", _durations(issues["cycle_time"], "issues")],
        ["Issue lead time", _durations(issues["lead_time"], "issues")],
        ["Flow efficiency", percent_text(efficiency)],
    ]


def _sprint_rows(sprints: dict[str, Any] | None) -> list[list[Any]]:
    if not sprints or not sprints["sprints"]:
        return []
    return [[f"Sprint {item['name']}", _sprint_text(item)] for item in sprints["items"]]


def _sprint_text(item: dict[str, Any]) -> str:
    carried = item["carry_over"]["points"] if item["carry_over"] else NONE
    return (
        f"committed {item['committed']['points']:g}, completed {item['completed']['points']:g}, "
        f"added {item['added_after_start']['points']:g}, carried over {carried}"
    )


def render_flow(report: dict[str, Any]) -> str:
    window = report["window"]
    title = (
        f"Flow metrics for {scope_title(report['scope'])}, {window['from']} to {window['to']} "
        "(end excluded)"
    )
    rows = [
        *_pull_request_rows(report["pull_requests"]),
        *_bottleneck_rows(report.get("bottleneck")),
        *_issue_rows(report.get("issues")),
        *_sprint_rows(report.get("sprints")),
    ]
    notes = [str(note) for note in report.get("notes") or []]
    return "\n\n".join([title, text_table(["Metric", "Value"], rows), *notes]) + "\n"

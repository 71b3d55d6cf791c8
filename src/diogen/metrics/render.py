"""A DORA report as plain-text tables for people; JSON is the format for machines."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

# Per-change listings in a terminal stop here; the JSON document always has every row.
CHANGE_ROWS_SHOWN = 50
NONE = "-"
EMPTY = "(none)"
NO_DATA = "no failure data (see below)"
NOTE_WIDTH = 100


def hours_text(value: float | None) -> str:
    return NONE if value is None else f"{value:g} h"


def percent_text(rate: float | None) -> str:
    return NONE if rate is None else f"{rate * 100:.2f} %"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns under a header; a table without rows says so."""
    cells = [[NONE if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if not cells:
        lines.append(EMPTY)
    return "\n".join(line.rstrip() for line in lines)


def _durations(section: dict[str, Any]) -> str:
    return (
        f"median {hours_text(section['median_hours'])}, p75 {hours_text(section['p75_hours'])}, "
        f"p90 {hours_text(section['p90_hours'])}"
    )


def _stage_rows(stages: dict[str, Any]) -> list[list[Any]]:
    """The pull-request stages of lead time, when pull requests were counted."""
    if not stages["pull_requests"]:
        return []
    names = ("coding", "pickup", "review", "deploy")
    return [[f"  {name} (PRs)", _durations(stages[name]), None] for name in names]


def _summary_rows(report: dict[str, Any]) -> list[list[Any]]:
    df = report["deployment_frequency"]
    lt = report["lead_time_for_changes"]
    cfr = report["change_failure_rate"]
    rec = report["failed_deployment_recovery_time"]
    rework = report["rework_rate"]
    restore = rec["time_to_restore"]
    median_week = df["median_weekly_deployments"]
    median_week_text = NONE if median_week is None else median_week
    return [
        [
            "Deployment frequency",
            f"{df['deployments']} deployments, {df['per_week']:g}/week, "
            f"{df['deploy_days']} deploy days, median week {median_week_text}",
            df["tier"],
        ],
        ["Lead time for changes", f"{lt['changes']} changes; {_durations(lt)}", lt["tier"]],
        *_stage_rows(lt["stages"]),
        [
            "Change failure rate",
            NO_DATA
            if "reason" in cfr
            else f"{cfr['failed']} of {cfr['deployments']} failed ({percent_text(cfr['rate'])})",
            cfr["tier"],
        ],
        [
            "Failed deployment recovery time",
            f"{rec['failures']} failed, {rec['recovered']} recovered; {_durations(rec)}",
            rec["tier"],
        ],
        [
            "Time to restore (incidents)",
            f"{restore['incidents']} incidents, {restore['restored']} resolved; "
            f"{_durations(restore)}",
            None,
        ],
        [
            "Rework rate",
            NO_DATA
            if "reason" in rework
            else f"{rework['rework']} of {rework['deployments']} ({percent_text(rework['rate'])})",
            None,
        ],
    ]


SCOPE_WORDS = {"team": "team", "repo": "repository", "service": "service"}


def scope_title(scope: dict[str, str | None]) -> str:
    """`team payments of organisation acme`, `repository flask`, or `the organisation`."""
    org = f"organisation {scope['org']}" if scope.get("org") else None
    narrowed = [f"{word} {scope[key]}" for key, word in SCOPE_WORDS.items() if scope.get(key)]
    if narrowed:
        return narrowed[0] + (f" of {org}" if org else "")
    return org or "the organisation"


def _title(report: dict[str, Any]) -> str:
    what = scope_title(report["scope"])
    window = report["window"]
    return (
        f"DORA metrics for {what}, {window['from']} to {window['to']} (end excluded), "
        f"benchmarks {report['benchmarks']}"
    )


def _buckets(rows: list[dict[str, Any]]) -> str:
    headers = ["Start", "Deployments", "Changes", "Median lead time", "Failed", "CFR"]
    body = [
        [
            row["start"] + (" (partial)" if row["partial"] else ""),
            row["deployments"],
            row["changes"],
            hours_text(row["median_lead_time_hours"]),
            row["failed"],
            percent_text(row["change_failure_rate"]),
        ]
        for row in rows
    ]
    return text_table(headers, body)


def _row_name(row: dict[str, Any]) -> str:
    """A deployment by its ref (tag) when it has one, a change by its short sha."""
    if row["kind"] == "deployment":
        return str(row["ref"] or row["id"])
    return _change_name(row)


def _change_name(row: dict[str, Any]) -> str:
    """A commit by its short sha, a pull request by its number."""
    return str(row["pull_request"]) if "pull_request" in row else str(row["sha"][:12])


def _evidence(evidence: dict[str, Any]) -> str:
    deployments = [
        [
            d["finished_at"],
            d["repo"],
            d["ref"] or d["sha"][:12],
            d["changes"],
            "yes" if d["failed"] else "no",
            hours_text(d["recovery_hours"]),
        ]
        for d in evidence["deployments"]
    ]
    changes = [
        [
            _change_name(c),
            c["repo"],
            c["authored_at"],
            c["deployed_at"],
            hours_text(c["lead_time_hours"]),
        ]
        for c in evidence["changes"]
    ]
    excluded = [[e["kind"], _row_name(e), e["reason"], e["detail"]] for e in evidence["excluded"]]
    parts = [
        "Deployments counted",
        text_table(["Finished", "Repo", "Ref", "Changes", "Failed", "Recovery"], deployments),
        "Changes counted",
        text_table(
            ["Change", "Repo", "First commit", "Deployed", "Lead time"],
            changes[:CHANGE_ROWS_SHOWN],
        ),
    ]
    if len(changes) > CHANGE_ROWS_SHOWN:
        parts.append(f"... and {len(changes) - CHANGE_ROWS_SHOWN} more (--format json lists all)")
    parts += ["Excluded", text_table(["Kind", "Row", "Reason", "Detail"], excluded)]
    return "\n\n".join(parts)


def render_table(report: dict[str, Any]) -> str:
    """The report as text: a summary table, then buckets and evidence when present."""
    parts = [_title(report), text_table(["Metric", "Value", "Tier"], _summary_rows(report))]
    reasons = {
        report[key]["reason"]
        for key in ("change_failure_rate", "rework_rate")
        if "reason" in report[key]
    }
    parts += [textwrap.fill(f"{r[0].upper()}{r[1:]}.", NOTE_WIDTH) for r in sorted(reasons)]
    if "buckets" in report:
        parts.append(_buckets(report["buckets"]))
    if "evidence" in report:
        parts.append(_evidence(report["evidence"]))
    return "\n\n".join(parts) + "\n"

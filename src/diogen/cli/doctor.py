"""`diogen doctor`: the data quality report, as lines for people or a JSON document.

It is a report: it exits 0 whatever it finds, and 1 only when it cannot run (unknown repository).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from diogen.cli.app import (
    ConfigOption,
    DatabaseOption,
    OrgOption,
    OutputFormat,
    RepoOption,
    ServiceOption,
    TeamOption,
    app,
    database,
    settings_for,
)
from diogen.db import session_scope
from diogen.metrics import Scope, data_quality
from diogen.metrics.render import scope_title

SHORT_SHA = 12


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


@app.command("doctor")
def doctor(
    org: OrgOption = None,
    team: TeamOption = None,
    repo: RepoOption = None,
    service: ServiceOption = None,
    output: FormatOption = OutputFormat.table,
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """What the metrics leave out or cannot attribute, with counts, reasons and examples."""
    settings = settings_for(database_url, config)
    scope = Scope(org=org, team=team, repo=repo, service=service)
    with database(settings) as engine, session_scope(engine) as session:
        report = data_quality(
            session,
            scope,
            release_pattern=settings.effective_release_pattern,
            production_environment=settings.production_environment,
            incident_attribution_hours=settings.incident_attribution_hours,
        )
    if output is OutputFormat.json:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(render_quality(report), nl=False)


def render_quality(report: dict[str, Any]) -> str:
    """One line per finding (count, title, reason), then its examples indented below it."""
    where = scope_title(report["scope"])
    lines = [f"Data quality of {where}: {report['problems']} findings", ""]
    width = max(len(str(finding["count"])) for finding in report["findings"])
    for finding in report["findings"]:
        lines.append(f"{finding['count']:>{width}}  {finding['title']}: {finding['reason']}")
        lines.extend(_details(finding, " " * (width + 4)))
    return "\n".join(lines) + "\n"


def _details(finding: dict[str, Any], indent: str) -> list[str]:
    lines = []
    if finding.get("newest"):
        lines.append(f"{indent}newest: {finding['newest']}")
    if finding.get("by_reason") and finding["count"]:
        parts = ", ".join(f"{reason} {n}" for reason, n in finding["by_reason"].items())
        lines.append(f"{indent}by reason: {parts}")
    lines.extend(indent + _example(example) for example in finding["examples"])
    if finding["count"] > len(finding["examples"]):
        lines.append(f"{indent}... and {finding['count'] - len(finding['examples'])} more")
    return lines


def _example(example: dict[str, Any]) -> str:
    if "people" in example:
        people = ", ".join(f"{p['email'] or '?'} ({p['person_id']})" for p in example["people"])
        return f"{example['name']}: {people}"
    return "  ".join(
        _value(key, value) for key, value in example.items() if value not in (None, "")
    )


def _value(key: str, value: Any) -> str:
    if key == "sha":
        return str(value)[:SHORT_SHA]
    return f"#{value}" if key == "number" else str(value)

"""GitHub issues as incidents: an issue a rule names (a label, an issue type) is an incident
of its repository, from its creation until it was closed, with the commits and pull requests
its description names as evidence (what attributes it to the deployment that shipped them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from diogen.connectors.base import SilverRow
from diogen.connectors.github.config import IssueRules
from diogen.connectors.github.context import RepoContext, parse_time
from diogen.silver import Incident, Issue
from diogen.silver.base import table_of

INCIDENT = table_of(Incident)
ISSUE = table_of(Issue)
INCIDENT_UPDATE = (
    "title",
    "severity",
    "status",
    "repository_id",
    "started_at",
    "detected_at",
    "resolved_at",
    "evidence",
    "url",
)
# Full shas only: a short one is too easily a word ("deadbeef") or another repository's.
SHA = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{40}(?![0-9a-fA-F])")
PULL_URL = re.compile(r"github\.[^/\s]+/(?P<repo>[\w.-]+/[\w.-]+)/pull/(?P<number>\d+)")
HASH_REF = re.compile(r"(?:(?P<repo>[\w.-]+/[\w.-]+))?#(?P<number>\d+)\b")
SEVERITY = re.compile(r"^(?:sev(?:erity)?|p)[-_: ]?(\d)$", re.I)


def references(ctx: RepoContext, text: str | None) -> dict[str, Any]:
    """The commits (full shas) and this repository's pull request numbers `text` names, in the
    order named; pull request links first, then `#N` (which may be an issue: then it simply
    ships in no deployment)."""
    text = text or ""
    shas = list(dict.fromkeys(SHA.findall(text)))
    own = ctx.full_name.lower()
    numbers = [
        int(m["number"])
        for pattern in (PULL_URL, HASH_REF)
        for m in pattern.finditer(text)
        if (m["repo"] or own).lower() == own
    ]
    return {"shas": shas, "pull_requests": list(dict.fromkeys(numbers))}


def incident(ctx: RepoContext, issue: dict[str, Any], rule: str) -> SilverRow:
    named = references(ctx, issue.get("body"))
    evidence: dict[str, Any] = {"issue": f"{ctx.full_name}#{issue['number']}", "rule": rule}
    evidence |= {key: value for key, value in named.items() if value}
    if named["shas"]:
        evidence["sha"] = named["shas"][0]
    if named["pull_requests"]:
        evidence["pull_request_id"] = ctx.pull_request_id(named["pull_requests"][0])
    closed = issue.get("state") == "closed"
    created = parse_time(issue["created_at"])
    values = {
        "id": ctx.entity_id("incident", issue["id"]),
        "title": issue.get("title"),
        "severity": _severity(issue),
        "status": "resolved" if closed else "open",
        "service_id": None,
        "repository_id": ctx.repository_id,
        "deployment_id": None,
        "started_at": created,
        "detected_at": created,
        "resolved_at": parse_time(issue.get("closed_at")) if closed else None,
        "evidence": evidence,
        "source": ctx.source,
        "external_id": str(issue["id"]),
        "url": issue.get("html_url"),
    }
    return SilverRow(INCIDENT, values, INCIDENT_UPDATE)


def issue_rows(ctx: RepoContext, issue: dict[str, Any]) -> Iterator[SilverRow]:
    """An issue (under issue_comment it may be a pull request: not an issue here). Some
    deliveries (pinned, unpinned) leave out state and labels: those columns stay as stored."""
    if issue.get("pull_request"):
        return
    rows, assignee = ctx.account(issue.get("assignee"))
    yield from rows
    closed = (issue.get("state") or ("closed" if issue.get("closed_at") else "open")) == "closed"
    labels = {label["name"].lower() for label in issue.get("labels") or []}
    key = f"{ctx.full_name}#{issue['number']}"
    values = {
        "id": ctx.entity_id("issue", key.lower()),
        "source": ctx.source,
        "external_id": str(issue["id"]),
        "url": issue["html_url"],
        "key": key,
        "project": ctx.full_name,
        "title": issue["title"],
        "type": "bug" if "bug" in labels else "issue",
        "status": "closed" if closed else "open",
        "status_category": "done" if closed else "todo",
        "story_points": None,
        "assignee_identity_id": assignee,
        "parent_id": None,
        "epic_key": None,
        "sprint_id": None,
        "created_at": parse_time(issue["created_at"]),
        "resolved_at": parse_time(issue.get("closed_at")) if closed else None,
    }
    absent = {"type"} if "labels" not in issue else set()
    absent |= {"status", "status_category", "resolved_at"} if "state" not in issue else set()
    absent |= {"assignee_identity_id"} if "assignee" not in issue else set()
    update = tuple(k for k in values if k != "id" and k not in absent)
    yield SilverRow(ISSUE, values, update)


def _severity(issue: dict[str, Any]) -> str | None:
    for label in issue.get("labels") or []:
        match = SEVERITY.match(label.get("name", ""))
        if match:
            return f"sev{match[1]}"
    return None


def normalize_issue(
    ctx: RepoContext, rules: IssueRules, issue: dict[str, Any]
) -> Iterator[SilverRow]:
    """The issue, and its incident when a rule names it."""
    yield from issue_rows(ctx, issue)
    rule = rules.match(issue)
    if rule is not None and not issue.get("pull_request"):
        yield incident(ctx, issue, rule)


def decidable(rules: IssueRules, issue: dict[str, Any]) -> bool:
    """Whether a delivered issue says enough to apply the rules: some deliveries (pinned,
    unpinned) leave out its labels and state, and then what is stored stays as it is."""
    if not rules.active or issue.get("pull_request"):
        return False
    return "labels" in issue and "state" in issue and (not rules.types or "type" in issue)


def remove_incidents(source: str, issue_ids: list[str], session: Session) -> dict[str, Any]:
    """Incidents of issues no rule names any more (a label removed): they were not failures."""
    if not issue_ids:
        return {}
    result = session.execute(
        delete(Incident).where(Incident.source == source, Incident.external_id.in_(issue_ids))
    )
    return {"incidents_removed": result.rowcount}  # type: ignore[attr-defined]

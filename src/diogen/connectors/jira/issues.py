"""A Jira issue with its changelog → issue, status transitions, sprint scope changes,
sprints it names, the accounts involved, and an incident when the rules say it is one.

The raw record carries what reading it needs besides the issue (`meta`): which fields hold
sprints, story points and the epic link, and the category of each status it mentions. So a
record normalises the same way on replay as when it was fetched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.connectors.jira.config import IncidentRules
from diogen.connectors.jira.history import Change, FieldRef, ScopeHistory, changes, points
from diogen.connectors.jira.sprints import (
    current_sprint,
    field_sprints,
    known_sprint_row,
    sprint_id,
)
from diogen.connectors.trackers import DONE, Account, account_rows, parse_time, status_category
from diogen.errors import RejectedRecord
from diogen.ids import stable_id
from diogen.silver import Incident, Issue, IssueStatusTransition, SprintScopeChange
from diogen.silver.base import table_of

ISSUE = table_of(Issue)
TRANSITION = table_of(IssueStatusTransition)
SCOPE = table_of(SprintScopeChange)
INCIDENT = table_of(Incident)
# The parent link is resolved after the sync (the parent may arrive later); syncs keep it.
ISSUE_UPDATE = tuple(c.name for c in ISSUE.columns if c.name not in ("id", "parent_id"))
# What someone may link by hand (service, repository, deployment) is never overwritten.
INCIDENT_UPDATE = ("title", "severity", "status", "detected_at", "resolved_at", "evidence", "url")


@dataclass(frozen=True)
class JiraContext:
    source: str
    incidents: IncidentRules
    bot_pattern: str

    @property
    def host(self) -> str:
        return self.source.split("@", 1)[1]

    @cached_property
    def bot(self) -> re.Pattern[str]:
        return re.compile(self.bot_pattern, re.I)

    def issue_id(self, jira_id: object) -> str:
        return stable_id(self.source, "issue", str(jira_id))

    def account(self, user: Mapping[str, Any] | None) -> tuple[list[SilverRow], str | None]:
        """Rows of a Jira user (Cloud: accountId; Server: user key or name) and its id."""
        if not user:
            return [], None
        if user.get("accountId"):
            key = str(user["accountId"])  # one Atlassian account across every Cloud site
        elif user.get("key") or user.get("name"):
            key = f"{self.host}:{user.get('key') or user.get('name')}"
        else:
            return [], None
        name = user.get("displayName")
        login = user.get("name") or None
        is_bot = user.get("accountType") == "app" or bool(name and self.bot.search(str(name)))
        account = Account("jira", key, name, user.get("emailAddress"), login, is_bot)
        return account_rows(account, self.source)


def site_url(issue: Mapping[str, Any]) -> str | None:
    """'https://x.atlassian.net/rest/api/3/issue/1' → 'https://x.atlassian.net'."""
    self_url = issue.get("self")
    if not isinstance(self_url, str) or "/rest/" not in self_url:
        return None
    return self_url.split("/rest/", 1)[0]


def _field(meta: Mapping[str, Any], name: str) -> FieldRef | None:
    found = meta.get(name)
    return FieldRef(str(found["id"]), str(found["name"])) if found else None


def points_field(
    meta: Mapping[str, Any], fields: Mapping[str, Any], items: list[Change]
) -> FieldRef | None:
    """The first candidate holding a value now, else the first the changelog mentions."""
    candidates = [FieldRef(str(f["id"]), str(f["name"])) for f in meta.get("points_fields") or []]
    for field in candidates:
        if fields.get(field.id) is not None:
            return field
    for field in candidates:
        if any(field.matches(change.item) for change in items):
            return field
    return candidates[0] if candidates else None


@dataclass
class IssueRecord:
    """One raw issue record being normalised."""

    ctx: JiraContext
    payload: Mapping[str, Any]

    @cached_property
    def issue(self) -> Mapping[str, Any]:
        issue: Mapping[str, Any] = self.payload["issue"]
        return issue

    @cached_property
    def fields(self) -> Mapping[str, Any]:
        fields: Mapping[str, Any] = self.issue["fields"]
        return fields

    @cached_property
    def meta(self) -> Mapping[str, Any]:
        meta: Mapping[str, Any] = self.payload.get("meta") or {}
        return meta

    @cached_property
    def items(self) -> list[Change]:
        return changes(self.payload.get("changelog") or [])

    @cached_property
    def sprints(self) -> list[dict[str, Any]]:
        field = _field(self.meta, "sprint_field")
        return field_sprints(self.fields.get(field.id)) if field else []

    @cached_property
    def points(self) -> FieldRef | None:
        return points_field(self.meta, self.fields, self.items)

    @property
    def id(self) -> str:
        return self.ctx.issue_id(self.issue["id"])

    @property
    def url(self) -> str | None:
        site = site_url(self.issue)
        return f"{site}/browse/{self.issue['key']}" if site else None

    def category(self, status_id: Any) -> str | None:
        statuses = self.meta.get("statuses") or {}
        raw = statuses.get(str(status_id)) if status_id is not None else None
        current = self.fields.get("status") or {}
        if raw is None and str(current.get("id")) == str(status_id):
            raw = (current.get("statusCategory") or {}).get("key")
        return status_category(raw)

    def rows(self, *, from_creation: bool = True) -> list[SilverRow]:
        created = parse_time(self.fields.get("created"))
        if created is None:
            raise RejectedRecord(f"Jira issue {self.issue.get('key')} has no creation time")
        rows, assignee = self.ctx.account(self.fields.get("assignee"))
        rows += [known_sprint_row(self.ctx.source, sprint) for sprint in self.sprints]
        rows.append(SilverRow(ISSUE, self.issue_values(created, assignee), ISSUE_UPDATE))
        rows += self.transition_rows()
        rows += self.scope_rows(created, from_creation)
        rows += self.incident_rows(created)
        return rows

    def issue_values(self, created: datetime, assignee: str | None) -> dict[str, Any]:
        fields = self.fields
        status = fields.get("status") or {}
        current = current_sprint(self.sprints)
        return {
            "id": self.id,
            "key": str(self.issue["key"]),
            "project": (fields.get("project") or {}).get("key"),
            "title": fields.get("summary"),
            "type": (fields.get("issuetype") or {}).get("name"),
            "status": status.get("name"),
            "status_category": status_category((status.get("statusCategory") or {}).get("key")),
            "story_points": points(fields.get(self.points.id)) if self.points else None,
            "assignee_identity_id": assignee,
            "parent_id": None,
            "epic_key": self.epic_key(),
            "sprint_id": sprint_id(self.ctx.source, current["id"]) if current else None,
            "created_at": created,
            "resolved_at": parse_time(fields.get("resolutiondate")),
            "source": self.ctx.source,
            "external_id": str(self.issue["id"]),
            "url": self.url,
        }

    def epic_key(self) -> str | None:
        parent = self.fields.get("parent") or {}
        kind = (parent.get("fields") or {}).get("issuetype") or {}
        if parent.get("key") and (kind.get("hierarchyLevel", 0) >= 1 or kind.get("name") == "Epic"):
            return str(parent["key"])
        epic = _field(self.meta, "epic_field")
        value = self.fields.get(epic.id) if epic else None
        return str(value) if isinstance(value, str) and value else None

    def parent(self) -> str | None:
        parent = self.fields.get("parent") or {}
        return self.ctx.issue_id(parent["id"]) if parent.get("id") else None

    def transition_rows(self) -> list[SilverRow]:
        rows: list[SilverRow] = []
        found: dict[str, dict[str, Any]] = {}
        for change in self.items:
            item = change.item
            if not _is_status(item) or not item.get("toString"):
                continue
            accounts, author = self.ctx.account(change.author)
            rows += accounts
            row_id = stable_id(
                self.ctx.source, "issue_status_transition", self.id, change.at, item["toString"]
            )
            found[row_id] = {
                "id": row_id,
                "issue_id": self.id,
                "from_status": item.get("fromString") or None,
                "to_status": item["toString"],
                "from_category": self.category(item.get("from")),
                "to_category": self.category(item.get("to")),
                "author_identity_id": author,
                "changed_at": change.at,
            }
        return rows + [SilverRow(TRANSITION, values) for values in found.values()]

    def scope_rows(self, created: datetime, from_creation: bool) -> list[SilverRow]:
        closed = {
            str(s["id"]): done
            for s in self.sprints
            if (done := parse_time(s.get("completeDate"))) is not None
        }
        history = ScopeHistory(
            created=created,
            current_sprints={str(s["id"]) for s in self.sprints},
            current_points=points(self.fields.get(self.points.id)) if self.points else None,
            sprint_field=_field(self.meta, "sprint_field"),
            points_field=self.points,
            closed=closed,
        )
        named = {str(s["id"]) for s in self.sprints}
        rows = []
        for event in history.events(self.items, from_creation=from_creation):
            sprint = sprint_id(self.ctx.source, event.sprint)
            if event.sprint not in named:
                named.add(event.sprint)
                rows.append(known_sprint_row(self.ctx.source, {"id": event.sprint}))
            values = {
                "id": stable_id(
                    self.ctx.source, "sprint_scope_change", sprint, self.id, event.at, event.change
                ),
                "sprint_id": sprint,
                "issue_id": self.id,
                "change": event.change,
                "story_points": event.points,
                "changed_at": event.at,
            }
            rows.append(SilverRow(SCOPE, values))
        return rows

    def incident_rule(self) -> str | None:
        rules, fields = self.ctx.incidents, self.fields
        kind = (fields.get("issuetype") or {}).get("name") or ""
        if kind.lower() in {t.lower() for t in rules.types}:
            return f"type:{kind}"
        wanted = {label.lower() for label in rules.labels}
        for label in fields.get("labels") or []:
            if str(label).lower() in wanted:
                return f"label:{label}"
        priority = (fields.get("priority") or {}).get("name") or ""
        if priority.lower() in {p.lower() for p in rules.priorities}:
            return f"priority:{priority}"
        return None

    def incident_rows(self, created: datetime) -> list[SilverRow]:
        rule = self.incident_rule()
        if rule is None:
            return []
        fields = self.fields
        values = {
            "id": stable_id(self.ctx.source, "incident", str(self.issue["id"])),
            "title": fields.get("summary"),
            "severity": (fields.get("priority") or {}).get("name"),
            "status": (fields.get("status") or {}).get("name"),
            "service_id": None,
            "repository_id": None,
            "deployment_id": None,
            "started_at": created,
            "detected_at": created,
            "resolved_at": parse_time(fields.get("resolutiondate")) or self.done_at(),
            "evidence": {"issue": self.issue["key"], "rule": rule},
            "source": self.ctx.source,
            "external_id": str(self.issue["id"]),
            "url": self.url,
        }
        return [SilverRow(INCIDENT, values, INCIDENT_UPDATE)]

    def done_at(self) -> datetime | None:
        """When the issue last entered a done status, if it is done now."""
        status = self.fields.get("status") or {}
        if status_category((status.get("statusCategory") or {}).get("key")) != DONE:
            return None
        done = [
            c.at
            for c in self.items
            if _is_status(c.item) and self.category(c.item.get("to")) == DONE
        ]
        return done[-1] if done else None


def _is_status(item: Mapping[str, Any]) -> bool:
    return (item.get("fieldId") or item.get("field")) == "status"

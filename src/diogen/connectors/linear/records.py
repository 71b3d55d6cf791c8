"""Linear records → silver rows: a cycle → sprint; an issue with its history → issue, status
transitions, cycle scope changes, the cycles it names and the accounts involved.

An issue's raw record carries, beside the issue and its whole history, the cycles it mentions
(`meta.cycles`, as the sync read them), so a replay of bronze normalises it exactly as the
sync did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.connectors.linear.history import CycleHistory, Entry, entries
from diogen.connectors.trackers import Account, account_rows, parse_time, status_category
from diogen.errors import RejectedRecord
from diogen.ids import stable_id
from diogen.silver import Issue, IssueStatusTransition, Sprint, SprintScopeChange
from diogen.silver.base import table_of

SPRINT = table_of(Sprint)
ISSUE = table_of(Issue)
TRANSITION = table_of(IssueStatusTransition)
SCOPE = table_of(SprintScopeChange)
# The parent link is resolved at checkpoints (the parent may arrive later); syncs keep it.
ISSUE_UPDATE = tuple(c.name for c in ISSUE.columns if c.name not in ("id", "parent_id"))


@dataclass(frozen=True)
class LinearContext:
    source: str
    bot_pattern: str

    @cached_property
    def bot(self) -> re.Pattern[str]:
        return re.compile(self.bot_pattern, re.I)

    def issue_id(self, linear_id: object) -> str:
        return stable_id(self.source, "issue", str(linear_id))

    def sprint_id(self, cycle_id: object) -> str:
        return stable_id(self.source, "sprint", str(cycle_id))

    def account(self, user: Mapping[str, Any] | None) -> tuple[list[SilverRow], str | None]:
        if not user or not user.get("id"):
            return [], None
        name = user.get("name") or user.get("displayName")
        login = user.get("displayName") or None
        is_bot = bool(name and self.bot.search(str(name)))
        account = Account("linear", str(user["id"]), name, user.get("email"), login, is_bot)
        return account_rows(account, self.source)


def cycle_end(cycle: Mapping[str, Any]) -> datetime | None:
    """When a completed cycle ended: the earlier of its planned end and its completion."""
    done = parse_time(cycle.get("completedAt"))
    if done is None:
        return None
    planned = parse_time(cycle.get("endsAt"))
    return min(done, planned) if planned is not None else done


def cycle_values(ctx: LinearContext, cycle: Mapping[str, Any], team: str | None) -> dict[str, Any]:
    starts = parse_time(cycle.get("startsAt"))
    completed = parse_time(cycle.get("completedAt"))
    if completed is not None:
        state = "closed"
    elif cycle.get("isActive"):
        state = "active"
    elif cycle.get("isFuture"):
        state = "future"
    else:
        state = None
    number = cycle.get("number")
    label = f"Cycle {int(number)}" if isinstance(number, int | float) else "Cycle"
    return {
        "id": ctx.sprint_id(cycle["id"]),
        "board": team,
        "name": str(cycle.get("name") or (f"{team} {label}" if team else label)),
        "state": state,
        "goal": cycle.get("description") or None,
        "planned_start": starts,
        "planned_end": parse_time(cycle.get("endsAt")),
        # Linear starts a cycle on its start date, whatever is in it.
        "started_at": starts if state in ("active", "closed") else None,
        "completed_at": completed,
        "source": ctx.source,
        "external_id": str(cycle["id"]),
        "url": None,
    }


def cycle_rows(ctx: LinearContext, payload: Mapping[str, Any]) -> list[SilverRow]:
    """A cycle from the team's cycle list: the full row, over whatever an issue said."""
    team = (payload.get("team") or {}).get("key")
    return [SilverRow(SPRINT, cycle_values(ctx, payload["cycle"], team))]


@dataclass
class IssueRecord:
    """One raw issue record being normalised. A webhook's record holds one change, not the
    whole history: it is read without the creation step (`from_creation`), and leaves the
    columns its delivery does not carry (`keep`) as stored."""

    ctx: LinearContext
    payload: Mapping[str, Any]
    from_creation: bool = True
    keep: tuple[str, ...] = ()

    @cached_property
    def issue(self) -> Mapping[str, Any]:
        issue: Mapping[str, Any] = self.payload["issue"]
        return issue

    @cached_property
    def cycles(self) -> Mapping[str, Mapping[str, Any]]:
        cycles: Mapping[str, Mapping[str, Any]] = (self.payload.get("meta") or {}).get(
            "cycles"
        ) or {}
        return cycles

    @cached_property
    def history(self) -> list[Entry]:
        return entries(self.payload.get("history") or [])

    @property
    def id(self) -> str:
        return self.ctx.issue_id(self.issue["id"])

    @property
    def team(self) -> str | None:
        key = (self.issue.get("team") or {}).get("key")
        return str(key) if key else None

    def rows(self) -> list[SilverRow]:
        created = parse_time(self.issue.get("createdAt"))
        if created is None:
            raise RejectedRecord(f"Linear issue {self.issue.get('identifier')} has no createdAt")
        rows, assignee = self.ctx.account(self.issue.get("assignee"))
        for cycle_id in sorted(self.mentioned_cycles()):
            cycle = self.cycles.get(cycle_id) or {"id": cycle_id}
            rows.append(SilverRow(SPRINT, cycle_values(self.ctx, cycle, self.team), ()))
        update = tuple(c for c in ISSUE_UPDATE if c not in self.keep)
        rows.append(SilverRow(ISSUE, self.issue_values(created, assignee), update))
        rows += self.transition_rows()
        rows += self.scope_rows(created)
        return rows

    def mentioned_cycles(self) -> set[str]:
        found = {str(c["id"]) for c in [self.issue.get("cycle") or {}] if c.get("id")}
        for entry in self.history:
            for side in ("fromCycleId", "toCycleId"):
                if entry.node.get(side):
                    found.add(str(entry.node[side]))
        return found

    def issue_values(self, created: datetime, assignee: str | None) -> dict[str, Any]:
        issue = self.issue
        state = issue.get("state") or {}
        cycle = (issue.get("cycle") or {}).get("id")
        estimate = issue.get("estimate")
        return {
            "id": self.id,
            "key": str(issue["identifier"]),
            "project": self.team,
            "title": issue.get("title"),
            "type": None,  # Linear issues have no type
            "status": state.get("name"),
            "status_category": status_category(state.get("type")),
            "story_points": None if estimate is None else float(estimate),
            "assignee_identity_id": assignee,
            "parent_id": None,
            "epic_key": (issue.get("project") or {}).get("name"),
            "sprint_id": self.ctx.sprint_id(cycle) if cycle else None,
            "created_at": created,
            "resolved_at": parse_time(issue.get("completedAt") or issue.get("canceledAt")),
            "source": self.ctx.source,
            "external_id": str(issue["id"]),
            "url": issue.get("url"),
        }

    def transition_rows(self) -> list[SilverRow]:
        rows: list[SilverRow] = []
        found: dict[str, dict[str, Any]] = {}
        for entry in self.history:
            if not entry.state_change:
                continue
            before = entry.node.get("fromState") or {}
            after = entry.node["toState"]
            accounts, author = self.ctx.account(entry.node.get("actor"))
            rows += accounts
            row_id = stable_id(
                self.ctx.source, "issue_status_transition", self.id, entry.at, after["name"]
            )
            found[row_id] = {
                "id": row_id,
                "issue_id": self.id,
                "from_status": before.get("name"),
                "to_status": after["name"],
                "from_category": status_category(before.get("type")),
                "to_category": status_category(after.get("type")),
                "author_identity_id": author,
                "changed_at": entry.at,
            }
        return rows + [SilverRow(TRANSITION, values) for values in found.values()]

    def scope_rows(self, created: datetime) -> list[SilverRow]:
        ended = {
            cycle_id: end
            for cycle_id, cycle in self.cycles.items()
            if (end := cycle_end(cycle)) is not None
        }
        estimate = self.issue.get("estimate")
        history = CycleHistory(
            created=created,
            current_cycle=(self.issue.get("cycle") or {}).get("id"),
            current_points=None if estimate is None else float(estimate),
            ended=ended,
        )
        rows = []
        for event in history.events(self.history, from_creation=self.from_creation):
            sprint = self.ctx.sprint_id(event.cycle)
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

    def parent(self) -> str | None:
        parent = self.issue.get("parent") or {}
        return self.ctx.issue_id(parent["id"]) if parent.get("id") else None

"""An Asana task with its stories → issue, status transitions and the accounts involved.

Sections are the statuses. A status's category: done while the task is completed; else the
category its section's name reads as ("To do", "In progress", "Done", "Backlog"…); else `todo`
for the project's first section and `in_progress` for the others. The section at creation is
the current one with every later move undone (the first move's `old_section`). Completion and
reopening are transitions within a section (its category changes to done and back).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.connectors.trackers import (
    DONE,
    IN_PROGRESS,
    TODO,
    Account,
    account_rows,
    parse_time,
    status_category,
)
from diogen.errors import RejectedRecord
from diogen.ids import stable_id
from diogen.silver import Issue, IssueStatusTransition
from diogen.silver.base import table_of

ISSUE = table_of(Issue)
TRANSITION = table_of(IssueStatusTransition)
ISSUE_UPDATE = tuple(c.name for c in ISSUE.columns if c.name not in ("id", "parent_id"))
MOVED, COMPLETED, REOPENED = "section_changed", "marked_complete", "marked_incomplete"


@dataclass(frozen=True)
class AsanaContext:
    source: str
    bot_pattern: str

    @cached_property
    def bot(self) -> re.Pattern[str]:
        return re.compile(self.bot_pattern, re.I)

    def account(self, user: Mapping[str, Any] | None) -> tuple[list[SilverRow], str | None]:
        if not user or not user.get("gid"):
            return [], None
        name = user.get("name")
        is_bot = bool(name and self.bot.search(str(name)))
        account = Account("asana", str(user["gid"]), name, user.get("email"), None, is_bot)
        return account_rows(account, self.source)


@dataclass
class TaskRecord:
    ctx: AsanaContext
    payload: Mapping[str, Any]

    @cached_property
    def task(self) -> Mapping[str, Any]:
        task: Mapping[str, Any] = self.payload["task"]
        return task

    @cached_property
    def meta(self) -> Mapping[str, Any]:
        meta: Mapping[str, Any] = self.payload["meta"]
        return meta

    @cached_property
    def first_section(self) -> str | None:
        sections = self.meta.get("sections") or []
        return str(sections[0]["gid"]) if sections else None

    @cached_property
    def stories(self) -> list[tuple[datetime, Mapping[str, Any]]]:
        found = []
        for story in self.payload.get("stories") or []:
            if story.get("resource_subtype") in (MOVED, COMPLETED, REOPENED):
                at = parse_time(story.get("created_at"))
                if at is None:
                    raise ValueError(f"Asana story {story.get('gid')!r} has no created_at")
                found.append((at, story))
        return sorted(found, key=lambda pair: (pair[0], str(pair[1].get("gid"))))

    def section(self) -> Mapping[str, Any]:
        for membership in self.task.get("memberships") or []:
            if str((membership.get("project") or {}).get("gid")) == self.meta["project"]:
                return membership.get("section") or {}
        return {}

    def category(self, section: Mapping[str, Any], done: bool) -> str:
        if done:
            return DONE
        named = status_category(section.get("name"))
        if named is not None:
            return named
        return TODO if str(section.get("gid")) == self.first_section else IN_PROGRESS

    def points(self) -> float | None:
        wanted = str(self.meta.get("points_field") or "").lower()
        for field in self.task.get("custom_fields") or []:
            if str(field.get("name") or "").lower() == wanted:
                value = field.get("number_value")
                return None if value is None else float(value)
        return None

    @property
    def id(self) -> str:
        return stable_id(self.ctx.source, "issue", str(self.task["gid"]))

    def rows(self) -> list[SilverRow]:
        created = parse_time(self.task.get("created_at"))
        if created is None:
            raise RejectedRecord(f"Asana task {self.task.get('gid')} has no created_at")
        rows, assignee = self.ctx.account(self.task.get("assignee"))
        section, done = self.section(), bool(self.task.get("completed"))
        values = {
            "id": self.id,
            "key": str(self.task["gid"]),
            "project": self.meta["project"],
            "title": self.task.get("name"),
            "type": None,
            "status": section.get("name"),
            "status_category": self.category(section, done),
            "story_points": self.points(),
            "assignee_identity_id": assignee,
            "parent_id": None,
            "epic_key": None,
            "sprint_id": None,
            "created_at": created,
            "resolved_at": parse_time(self.task.get("completed_at")) if done else None,
            "source": self.ctx.source,
            "external_id": str(self.task["gid"]),
            "url": self.task.get("permalink_url"),
        }
        rows.append(SilverRow(ISSUE, values, ISSUE_UPDATE))
        return rows + self.transition_rows()

    def transition_rows(self) -> list[SilverRow]:
        moves = [s for _, s in self.stories if s.get("resource_subtype") == MOVED]
        section = (moves[0].get("old_section") or {}) if moves else self.section()
        done = False
        rows: list[SilverRow] = []
        for at, story in self.stories:
            before, was_done = section, done
            kind = story.get("resource_subtype")
            if kind == MOVED:
                section = story.get("new_section") or {}
            else:
                done = kind == COMPLETED
            if not section.get("name"):
                continue
            accounts, author = self.ctx.account(story.get("created_by"))
            rows += accounts
            values = {
                "id": stable_id(
                    self.ctx.source, "issue_status_transition", self.id, at, section["name"]
                ),
                "issue_id": self.id,
                "from_status": before.get("name"),
                "to_status": section["name"],
                "from_category": self.category(before, was_done) if before else None,
                "to_category": self.category(section, done),
                "author_identity_id": author,
                "changed_at": at,
            }
            rows.append(SilverRow(TRANSITION, values))
        return rows

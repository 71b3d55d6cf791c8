"""What one Asana sync reads, per project: the project, its sections (the statuses), then the
tasks modified since the last sync, page by page, each with its whole story (section moves,
completion, assignment), each page a checkpoint.

The task cursor of a project holds the pass in progress (`since`: the `modified_since` it runs
with, `offset`: Asana's offset of the next page, `newest`: the newest `modified_at` seen); a
finished pass makes the next one start from its newest modification.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from diogen.connectors.asana.client import AsanaApi
from diogen.connectors.asana.config import AsanaConfig
from diogen.connectors.base import Checkpoint, FetchStats, RawItem
from diogen.connectors.http import HttpError
from diogen.connectors.trackers import parse_time
from diogen.errors import NotFoundError

USER = "name,email"
TASK_FIELDS = ",".join(
    [
        "name",
        "created_at",
        "modified_at",
        "completed",
        "completed_at",
        "permalink_url",
        *(f"assignee.{f}" for f in USER.split(",")),
        "memberships.project.name",
        "memberships.section.name",
        "custom_fields.name",
        "custom_fields.type",
        "custom_fields.number_value",
        "parent.name",
    ]
)
STORY_FIELDS = ",".join(
    [
        "created_at",
        "resource_subtype",
        *(f"created_by.{f}" for f in USER.split(",")),
        "old_section.name",
        "new_section.name",
        *(f"assignee.{f}" for f in USER.split(",")),
    ]
)


class AsanaFetch:
    def __init__(
        self,
        api: AsanaApi,
        config: AsanaConfig,
        cursors: Mapping[str, dict[str, Any]],
        stats: FetchStats,
    ) -> None:
        self.api, self.config, self.cursors, self.stats = api, config, cursors, stats

    def run(self) -> Iterator[RawItem | Checkpoint]:
        projects = []
        for gid in self.config.projects:
            project = self.project(gid)
            sections = list(self.sections(gid))
            projects.append((project, sections))
            yield RawItem("projects", gid, project)
            for section in sections:
                yield RawItem("sections", str(section["gid"]), {**section, "project": gid})
        yield Checkpoint({})
        for project, sections in projects:
            yield from self.tasks(project, sections)

    def project(self, gid: str) -> dict[str, Any]:
        try:
            project: dict[str, Any] = self.api.get(
                f"projects/{gid}", opt_fields="name,permalink_url,workspace.name"
            )
        except HttpError as exc:
            if exc.status != 404:
                raise
            raise NotFoundError(f"no Asana project {gid} for this token", project=gid) from exc
        self.stats.add("projects")
        return project

    def sections(self, gid: str) -> Iterator[dict[str, Any]]:
        for page, _ in self.api.pages(f"projects/{gid}/sections", opt_fields="name"):
            for section in page:
                self.stats.add("sections")
                yield section

    def tasks(
        self, project: Mapping[str, Any], sections: list[dict[str, Any]]
    ) -> Iterator[RawItem | Checkpoint]:
        name = f"tasks:{project['gid']}"
        cursor = self.cursors.get(name) or {}
        since, newest = cursor.get("since"), cursor.get("newest") or cursor.get("since")
        params: dict[str, Any] = {"project": project["gid"], "opt_fields": TASK_FIELDS}
        if since:
            params["modified_since"] = since
        meta = {
            "project": str(project["gid"]),
            "points_field": self.config.points_field,
            "sections": [{"gid": str(s["gid"]), "name": s.get("name")} for s in sections],
        }
        for page, offset in self.api.pages("tasks", offset=cursor.get("offset"), **params):
            for task in page:
                yield self.task_item(task, meta)
                modified = task.get("modified_at")
                if modified and (newest is None or _after(modified, newest)):
                    newest = str(modified)
            state = {"since": since, "offset": offset, "newest": newest}
            if not offset:
                state = {"since": newest, "offset": None, "newest": newest}
            yield Checkpoint({name: state})

    def task_item(self, task: dict[str, Any], meta: dict[str, Any]) -> RawItem:
        stories = [
            story
            for page, _ in self.api.pages(f"tasks/{task['gid']}/stories", opt_fields=STORY_FIELDS)
            for story in page
        ]
        self.stats.add("tasks")
        self.stats.add("stories", len(stories))
        payload = {"task": task, "stories": stories, "meta": meta}
        return RawItem("tasks", str(task["gid"]), payload)


def _after(modified: str, newest: str) -> bool:
    first, second = parse_time(modified), parse_time(newest)
    return first is not None and (second is None or first > second)

"""GitHub webhook events → silver rows, through the same functions the sync uses.

`event_rows` is pure; `apply_event` does what an event changes beyond upserts (a deleted tag,
review times recomputed from the stored reviews), in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from diogen.config import BOT_PATTERN
from diogen.connectors.base import SilverRow
from diogen.connectors.github import delivery, pulls
from diogen.connectors.github.config import DeploymentRules
from diogen.connectors.github.context import RepoContext, parse_time, source_of
from diogen.connectors.github.timeline import webhook_timeline
from diogen.silver import GitRef, Identity, Issue, PullRequest, Review, ReviewComment
from diogen.silver.base import table_of
from diogen.silver.keys import ref_id

# Events whose records become silver rows; any other event is kept in bronze only.
HANDLED = frozenset(
    {
        "ping",
        "push",
        "create",
        "delete",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "deployment",
        "deployment_status",
        "workflow_run",
        "workflow_job",
        "release",
        "issues",
        "issue_comment",
    }
)
ISSUE = table_of(Issue)
Rules = Callable[[str], DeploymentRules]


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any]
    rules: Rules
    bot_pattern: str = BOT_PATTERN

    @property
    def context(self) -> RepoContext | None:
        repo = self.payload.get("repository")
        if not repo:
            return None  # an organisation or app event (ping of an org hook)
        name = repo["full_name"]
        return RepoContext(source_of(repo["html_url"]), name, self.rules(name), self.bot_pattern)


def event_rows(event: Event, tag_sha: Callable[[RepoContext, str], str | None]) -> list[SilverRow]:
    """The silver rows an event's payload holds (`tag_sha` finds a tag's commit)."""
    ctx = event.context
    if ctx is None or event.name not in HANDLED or event.name == "ping":
        return []
    payload = event.payload
    rows = list(delivery.repository(ctx, payload["repository"]))
    rows.extend(_rows(event.name, ctx, payload, tag_sha))
    return rows


def _rows(
    name: str,
    ctx: RepoContext,
    payload: dict[str, Any],
    tag_sha: Callable[[RepoContext, str], str | None],
) -> Iterator[SilverRow]:
    if name == "push" and payload["ref"].startswith("refs/tags/") and not payload["deleted"]:
        yield from delivery.tag(ctx, payload["ref"].removeprefix("refs/tags/"), payload["after"])
    elif name in ("pull_request", "pull_request_review", "pull_request_review_comment"):
        yield from pulls.rest_pull_request(ctx, payload["pull_request"])
        if name == "pull_request":
            yield from webhook_timeline(ctx, payload)
        number = payload["pull_request"]["number"]
        if name == "pull_request_review":
            yield from pulls.rest_review(ctx, number, payload["review"])
        elif name == "pull_request_review_comment" and payload["action"] != "deleted":
            yield from pulls.rest_review_comment(ctx, payload["comment"])
    elif name == "deployment":
        yield from delivery.deployment(ctx, payload["deployment"], None)
    elif name == "deployment_status":
        status = payload["deployment_status"]
        yield from delivery.deployment(ctx, payload["deployment"], [status])
    elif name == "workflow_run":
        yield from delivery.workflow_run(ctx, payload["workflow_run"])
    elif name == "workflow_job":
        yield from delivery.workflow_job(ctx, payload["workflow_job"])
    elif name == "release" and payload["action"] != "deleted":
        release = payload["release"]
        yield from delivery.release(ctx, release, tag_sha(ctx, release["tag_name"]))
    elif name in ("issues", "issue_comment") and not (
        name == "issues" and payload["action"] == "deleted"
    ):
        yield from issue(ctx, payload["issue"])


def issue(ctx: RepoContext, issue: dict[str, Any]) -> Iterator[SilverRow]:
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


def apply_event(session: Session, event: Event) -> dict[str, int]:
    """What an event changes beyond its rows' upserts; counts of what changed."""
    ctx, payload, action = event.context, event.payload, event.payload.get("action")
    if ctx is None:
        return {}
    deleted = _deleted_ref(event)
    if deleted is not None:
        ref = ref_id(ctx.repository_id, *deleted)
        gone = session.execute(delete(GitRef).where(GitRef.id == ref))
        return {"refs_removed": gone.rowcount}  # type: ignore[attr-defined]
    if event.name == "pull_request_review_comment" and action == "deleted":
        comment_id = ctx.entity_id("review_comment", payload["comment"]["id"])
        session.execute(delete(ReviewComment).where(ReviewComment.id == comment_id))
    if event.name == "pull_request_review":
        return refresh_review_times(session, ctx.pull_request_id(payload["pull_request"]["number"]))
    if event.name == "pull_request" and action == "ready_for_review":
        pr_id = ctx.pull_request_id(payload["pull_request"]["number"])
        when = parse_time(payload["pull_request"]["updated_at"])
        session.execute(
            update(PullRequest)
            .where(PullRequest.id == pr_id, PullRequest.ready_for_review_at.is_(None))
            .values(ready_for_review_at=when)
        )
    return {}


def _deleted_ref(event: Event) -> tuple[str, str] | None:
    payload = event.payload
    if event.name == "delete":
        return ("tag" if payload["ref_type"] == "tag" else "branch", payload["ref"])
    if event.name == "push" and payload.get("deleted"):
        ref: str = payload["ref"]
        if ref.startswith("refs/tags/"):
            return "tag", ref.removeprefix("refs/tags/")
        if ref.startswith("refs/heads/"):
            return "branch", ref.removeprefix("refs/heads/")
    return None


def refresh_review_times(session: Session, pr_id: str) -> dict[str, int]:
    """First review and approval of a pull request from its stored reviews: by someone other
    than its author, bots excluded (DESIGN.md §5, pickup time)."""
    author = session.scalar(select(PullRequest.author_identity_id).where(PullRequest.id == pr_id))
    rows = session.execute(
        select(Review.state, Review.submitted_at)
        .outerjoin(Identity, Identity.id == Review.reviewer_identity_id)
        .where(
            Review.pull_request_id == pr_id,
            Review.submitted_at.is_not(None),
            Identity.is_bot.is_not(True),
            Review.reviewer_identity_id.is_distinct_from(author),
        )
    ).all()
    first = min((r.submitted_at for r in rows), default=None)
    approved = min((r.submitted_at for r in rows if r.state == "APPROVED"), default=None)
    session.execute(
        update(PullRequest)
        .where(PullRequest.id == pr_id)
        .values(first_review_at=first, approved_at=approved)
    )
    return {"reviews_considered": len(rows)}

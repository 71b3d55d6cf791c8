"""GitHub webhook events → silver rows, through the same functions the sync uses.

`event_rows` is pure; `apply_event` does what an event changes beyond upserts (a deleted tag,
review times recomputed from the stored reviews), in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from diogen.config import BOT_PATTERN
from diogen.connectors.base import SilverRow
from diogen.connectors.github import delivery, pulls, team_events
from diogen.connectors.github.config import DeploymentRules, IssueRules
from diogen.connectors.github.context import RepoContext, parse_time, source_of
from diogen.connectors.github.issues import (
    decidable,
    issue_rows,
    normalize_issue,
    remove_incidents,
)
from diogen.connectors.github.timeline import webhook_timeline
from diogen.silver import GitRef, Identity, PullRequest, Review, ReviewComment
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
        *team_events.EVENTS,
    }
)
Rules = Callable[[str], DeploymentRules]


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any]
    rules: Rules
    bot_pattern: str = BOT_PATTERN
    # Which issues are incidents: the `[github]` section's rules, as the sync applies them.
    incidents: IssueRules = field(default_factory=IssueRules)

    @property
    def context(self) -> RepoContext | None:
        repo = self.payload.get("repository")
        if not repo:
            return None  # an organisation or app event (ping of an org hook)
        name = repo["full_name"]
        return RepoContext(source_of(repo["html_url"]), name, self.rules(name), self.bot_pattern)


def event_rows(event: Event, tag_sha: Callable[[RepoContext, str], str | None]) -> list[SilverRow]:
    """The silver rows an event's payload holds (`tag_sha` finds a tag's commit)."""
    if event.name in team_events.EVENTS:
        return list(team_events.rows(event.payload, event.context, event.bot_pattern))
    ctx = event.context
    if ctx is None or event.name not in HANDLED or event.name == "ping":
        return []
    payload = event.payload
    rows = list(delivery.repository(ctx, payload["repository"]))
    rows.extend(_rows(event, ctx, tag_sha))
    return rows


def _rows(
    event: Event, ctx: RepoContext, tag_sha: Callable[[RepoContext, str], str | None]
) -> Iterator[SilverRow]:
    name, payload = event.name, event.payload
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
        issue = payload["issue"]
        if decidable(event.incidents, issue):
            # The sync's own function: the issue, and its incident when a rule names it.
            yield from normalize_issue(ctx, event.incidents, issue)
        else:
            yield from issue_rows(ctx, issue)


def apply_event(session: Session, event: Event, now: datetime) -> dict[str, int]:
    """What an event changes beyond its rows' upserts (`now`: when it was delivered); counts
    of what changed."""
    if event.name in team_events.EVENTS:
        return team_events.apply(session, event.name, event.payload, now)
    ctx, payload, action = event.context, event.payload, event.payload.get("action")
    if ctx is None:
        return {}
    deleted = _deleted_ref(event)
    if deleted is not None:
        ref = ref_id(ctx.repository_id, *deleted)
        gone = session.execute(delete(GitRef).where(GitRef.id == ref))
        return {"refs_removed": gone.rowcount}  # type: ignore[attr-defined]
    if event.name in ("issues", "issue_comment") and _unnamed(event):
        # A rule no longer names it (a label removed): not a failure, as a sync decides.
        return remove_incidents(ctx.source, [str(payload["issue"]["id"])], session)
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


def _unnamed(event: Event) -> bool:
    issue = event.payload["issue"]
    if event.payload.get("action") == "deleted" or not decidable(event.incidents, issue):
        return False
    return event.incidents.match(issue) is None


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

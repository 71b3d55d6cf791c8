"""A pull request's timeline (ready for review, converted to draft, review requested and its
removal) and whom its review is asked of now, from GraphQL nodes (the sync) and `pull_request`
webhooks, into the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.connectors.github.context import RepoContext, parse_time
from diogen.ids import stable_id
from diogen.silver import PullRequestEvent, PullRequestReviewers
from diogen.silver.base import table_of

EVENT = table_of(PullRequestEvent)
REVIEWERS = table_of(PullRequestReviewers)
KINDS = {
    "ReadyForReviewEvent": "ready_for_review",
    "ConvertToDraftEvent": "converted_to_draft",
    "ReviewRequestedEvent": "review_requested",
    "ReviewRequestRemovedEvent": "review_request_removed",
}
# The same four are `pull_request` webhook actions, by these names.
ACTIONS = frozenset(KINDS.values())


def reviewer(
    ctx: RepoContext, who: dict[str, Any] | None
) -> tuple[list[SilverRow], str | None, str | None]:
    """(account rows, "login" or "team:SLUG", identity id) of a requested reviewer."""
    if not who:
        return [], None, None
    if who.get("slug") is not None:
        return [], f"team:{who['slug']}", None
    rows, identity = ctx.account(who)
    return rows, who.get("login"), identity


def event_row(pr_id: str, kind: str, at: str, named: str | None, identity: str | None) -> SilverRow:
    values = {
        "id": stable_id("silver", "pull_request_event", pr_id, kind, at, named or ""),
        "pull_request_id": pr_id,
        "kind": kind,
        "occurred_at": parse_time(at),
        "reviewer": named,
        "reviewer_identity_id": identity,
    }
    return SilverRow(EVENT, values)


def graphql_timeline(ctx: RepoContext, pr_id: str, node: dict[str, Any]) -> Iterator[SilverRow]:
    """The timeline events of a pull request node, and its pending review requests."""
    for item in node["timelineItems"]["nodes"]:
        kind = KINDS.get(item.get("__typename", ""))
        if kind is None:
            continue
        rows, named, identity = reviewer(ctx, item.get("requestedReviewer"))
        yield from rows
        yield event_row(pr_id, kind, item["createdAt"], named, identity)
    requested: list[str] = []
    for request in node["reviewRequests"]["nodes"]:
        rows, named, _ = reviewer(ctx, request.get("requestedReviewer"))
        yield from rows
        if named is not None:
            requested.append(named)
    values = {
        "id": stable_id("silver", "pull_request_reviewers", pr_id),
        "pull_request_id": pr_id,
        "requested": sorted(set(requested)),
    }
    yield SilverRow(REVIEWERS, values)


def webhook_timeline(ctx: RepoContext, payload: dict[str, Any]) -> Iterator[SilverRow]:
    """The event of a `pull_request` delivery whose action is a timeline event; it happened
    when the delivery's pull request was last updated."""
    kind = str(payload.get("action", ""))
    if kind not in ACTIONS:
        return
    pr = payload["pull_request"]
    who = payload.get("requested_team") or payload.get("requested_reviewer")
    rows, named, identity = reviewer(ctx, who) if kind.startswith("review") else ([], None, None)
    yield from rows
    yield event_row(ctx.pull_request_id(pr["number"]), kind, pr["updated_at"], named, identity)

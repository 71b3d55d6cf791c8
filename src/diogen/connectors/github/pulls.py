"""Pull requests, reviews and review comments → silver rows, from GraphQL nodes (the sync) and
REST objects (webhooks). Both shapes become the same rows through `_pull_request_row`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.connectors.github.context import RepoContext, parse_time
from diogen.connectors.github.timeline import graphql_timeline
from diogen.ids import stable_id
from diogen.silver import PullRequest, PullRequestCommit, Review, ReviewComment
from diogen.silver.base import table_of

PULL_REQUEST = table_of(PullRequest)
PULL_REQUEST_COMMIT = table_of(PullRequestCommit)
REVIEW = table_of(Review)
REVIEW_COMMENT = table_of(ReviewComment)
# Times derived from reviews and the timeline; a REST object (a webhook) does not carry them.
DERIVED = ("ready_for_review_at", "first_review_at", "approved_at")
REST_UPDATE = tuple(c.name for c in PULL_REQUEST.columns if c.name not in ("id", *DERIVED))
SUBMITTED = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED")


def graphql_pull_request(ctx: RepoContext, node: dict[str, Any]) -> Iterator[SilverRow]:
    """A pull request node with its nested labels, reviews, commits and timeline."""
    author_rows, author_id = ctx.account(node.get("author"))
    yield from author_rows
    pr_id = ctx.pull_request_id(node["number"])
    reviews = [r for r in node["reviews"]["nodes"] if r["state"] != "PENDING"]
    reviewers: dict[str, str | None] = {}
    bots: set[str] = set()
    for review in reviews:
        rows, reviewer = ctx.account(review.get("author"))
        yield from rows
        reviewers[review["fullDatabaseId"]] = reviewer
        if any(r.values.get("is_bot") for r in rows):
            bots.add(review["fullDatabaseId"])
    by_people = [
        r
        for r in reviews
        if reviewers[r["fullDatabaseId"]] not in (None, author_id)
        and r["fullDatabaseId"] not in bots
    ]
    state = {"OPEN": "open", "CLOSED": "closed", "MERGED": "merged"}[node["state"]]
    yield SilverRow(
        PULL_REQUEST,
        _pull_request_row(
            ctx,
            node["number"],
            external_id=node["fullDatabaseId"],
            url=node["url"],
            title=node["title"],
            body=node.get("body") or None,
            author_identity_id=author_id,
            state=state,
            is_draft=node["isDraft"],
            base_ref=node["baseRefName"],
            head_ref=node["headRefName"],
            created_at=parse_time(node["createdAt"]),
            merged_at=parse_time(node["mergedAt"]),
            closed_at=parse_time(node["closedAt"]),
            merge_commit_sha=(node.get("mergeCommit") or {}).get("oid"),
            additions=node["additions"],
            deletions=node["deletions"],
            labels=sorted(label["name"] for label in node["labels"]["nodes"]),
            ready_for_review_at=_ready_at(node),
            first_review_at=_earliest(r["submittedAt"] for r in by_people),
            approved_at=_earliest(r["submittedAt"] for r in by_people if r["state"] == "APPROVED"),
        ),
    )
    for commit in node["commits"]["nodes"]:
        yield _pr_commit(pr_id, commit["commit"]["oid"])
    yield from graphql_timeline(ctx, pr_id, node)
    for review in reviews:
        yield SilverRow(
            REVIEW,
            _review_row(
                ctx,
                pr_id,
                review["fullDatabaseId"],
                review["url"],
                reviewers[review["fullDatabaseId"]],
                review["state"],
                review["submittedAt"],
            ),
        )


def rest_pull_request(ctx: RepoContext, pr: dict[str, Any]) -> Iterator[SilverRow]:
    """A REST pull request object (as webhooks deliver it); review-derived times untouched."""
    author_rows, author_id = ctx.account(pr.get("user"))
    yield from author_rows
    state = "merged" if pr.get("merged_at") else pr["state"]
    row = _pull_request_row(
        ctx,
        pr["number"],
        external_id=str(pr["id"]),
        url=pr["html_url"],
        title=pr["title"],
        body=pr.get("body") or None,
        author_identity_id=author_id,
        state=state,
        is_draft=bool(pr.get("draft")),
        base_ref=pr["base"]["ref"],
        head_ref=pr["head"]["ref"],
        created_at=parse_time(pr["created_at"]),
        merged_at=parse_time(pr.get("merged_at")),
        closed_at=parse_time(pr.get("closed_at")),
        merge_commit_sha=pr.get("merge_commit_sha"),
        additions=pr.get("additions"),
        deletions=pr.get("deletions"),
        labels=sorted(label["name"] for label in pr.get("labels", [])),
        # Created ready for review: ready at creation. Anything later comes from the timeline.
        ready_for_review_at=None if pr.get("draft") else parse_time(pr["created_at"]),
        first_review_at=None,
        approved_at=None,
    )
    yield SilverRow(PULL_REQUEST, row, REST_UPDATE)


def rest_review(ctx: RepoContext, number: int, review: dict[str, Any]) -> Iterator[SilverRow]:
    if review["state"].upper() == "PENDING":
        return
    rows, reviewer = ctx.account(review.get("user"))
    yield from rows
    pr_id = ctx.pull_request_id(number)
    yield SilverRow(
        REVIEW,
        _review_row(
            ctx,
            pr_id,
            str(review["id"]),
            review["html_url"],
            reviewer,
            review["state"].upper(),
            review.get("submitted_at"),
        ),
    )


def rest_review_comment(
    ctx: RepoContext, comment: dict[str, Any], *, link_review: bool = True
) -> Iterator[SilverRow]:
    """A review comment (REST, repository-wide list or webhook)."""
    rows, author = ctx.account(comment.get("user"))
    yield from rows
    number = int(comment["pull_request_url"].rsplit("/", 1)[1])
    review = comment.get("pull_request_review_id")
    yield SilverRow(
        REVIEW_COMMENT,
        {
            "id": ctx.entity_id("review_comment", comment["id"]),
            "source": ctx.source,
            "external_id": str(comment["id"]),
            "url": comment["html_url"],
            "pull_request_id": ctx.pull_request_id(number),
            "review_id": ctx.entity_id("review", review) if review and link_review else None,
            "author_identity_id": author,
            "path": comment.get("path"),
            "created_at": parse_time(comment["created_at"]),
        },
    )


def _pull_request_row(ctx: RepoContext, number: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": ctx.pull_request_id(number),
        "source": ctx.source,
        "external_id": fields.pop("external_id"),
        "url": fields.pop("url"),
        "repository_id": ctx.repository_id,
        "number": number,
        **fields,
    }


def _review_row(
    ctx: RepoContext,
    pr_id: str,
    external_id: str,
    url: str,
    reviewer: str | None,
    state: str,
    submitted_at: str | None,
) -> dict[str, Any]:
    return {
        "id": ctx.entity_id("review", external_id),
        "source": ctx.source,
        "external_id": external_id,
        "url": url,
        "pull_request_id": pr_id,
        "reviewer_identity_id": reviewer,
        "state": state,
        "submitted_at": parse_time(submitted_at),
    }


def _pr_commit(pr_id: str, sha: str) -> SilverRow:
    return SilverRow(
        PULL_REQUEST_COMMIT,
        {
            "id": stable_id("silver", "pull_request_commit", pr_id, sha),
            "pull_request_id": pr_id,
            "sha": sha,
        },
        (),
    )


def _ready_at(node: dict[str, Any]) -> datetime | None:
    """When the pull request first became ready for review: at creation, unless its first
    draft transition is a ready-for-review event (it was opened as a draft)."""
    transitions = [
        item
        for item in node["timelineItems"]["nodes"]
        if item["__typename"] in ("ReadyForReviewEvent", "ConvertToDraftEvent")
    ]
    transitions.sort(key=lambda item: item["createdAt"])
    if transitions and transitions[0]["__typename"] == "ReadyForReviewEvent":
        return parse_time(transitions[0]["createdAt"])
    if not transitions and node["isDraft"]:
        return None
    return parse_time(node["createdAt"])


def _earliest(times: Iterator[str | None] | Any) -> datetime | None:
    present = [parse_time(t) for t in times if t]
    return min((t for t in present if t is not None), default=None)

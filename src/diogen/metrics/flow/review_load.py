"""Review load per person: who reviews the scope's pull requests, and how much (docs/flow.md).

A review or review comment counts by the rules of the other pull request figures: submitted
(reviews) or written (comments) in the window, on a pull request of the scope not opened by a
bot, by someone who is neither the author (any identity of the author's person) nor a bot.
Counts are per person, so a person's identities add up. Four queries (besides the scope's),
whatever the data size: reviews and comments counted per pull request and identity, the pull
requests' authors, and the identities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, select, union
from sqlalchemy.orm import Session

from diogen.config import BOT_PATTERN
from diogen.metrics.flow.actors import Actor, actor, bot_rule, load_actors
from diogen.metrics.flow.common import share
from diogen.metrics.flow.pr_queries import in_scope
from diogen.metrics.scope import Scope, resolve_scope
from diogen.metrics.window import Window, default_window
from diogen.silver import PullRequest, Review, ReviewComment

UNKNOWN_ACCOUNT = "unknown account"


@dataclass(frozen=True)
class _Count:
    kind: str  # "review" or "review_comment"
    pull_request_id: str
    identity_id: str | None
    count: int


@dataclass
class _Load:
    shown: str
    reviews: int = 0
    review_comments: int = 0
    pull_requests: set[str] = field(default_factory=set)


def _in_window(window: Window, in_scope_ids: Select[Any]) -> tuple[Any, Any]:
    """Conditions selecting the scope's submitted reviews and its comments in the window."""
    reviews = and_(
        Review.pull_request_id.in_(in_scope_ids),
        Review.submitted_at >= window.start,
        Review.submitted_at < window.end,
        func.lower(Review.state) != "pending",
    )
    comments = and_(
        ReviewComment.pull_request_id.in_(in_scope_ids),
        ReviewComment.created_at >= window.start,
        ReviewComment.created_at < window.end,
    )
    return reviews, comments


def _counts(session: Session, reviews: Any, comments: Any) -> list[_Count]:
    by_review = (
        select(Review.pull_request_id, Review.reviewer_identity_id, func.count())
        .where(reviews)
        .group_by(Review.pull_request_id, Review.reviewer_identity_id)
    )
    by_comment = (
        select(ReviewComment.pull_request_id, ReviewComment.author_identity_id, func.count())
        .where(comments)
        .group_by(ReviewComment.pull_request_id, ReviewComment.author_identity_id)
    )
    found = [_Count("review", *row) for row in session.execute(by_review)]
    return found + [_Count("review_comment", *row) for row in session.execute(by_comment)]


def _reason(who: Actor, author: Actor, kind: str) -> str | None:
    if author.bot is not None:
        return "bot_author"
    if who.bot is not None:
        return "bot_reviewer" if kind == "review" else "bot_commenter"
    if who.same_person(author):
        return f"author_{kind}"
    return None


def _person_key(who: Actor) -> str:
    return who.person_id or who.id or UNKNOWN_ACCOUNT


def _fold(
    counts: list[_Count], authors: dict[str, str | None], actors: dict[str, Actor]
) -> tuple[dict[str, _Load], list[dict[str, Any]]]:
    loads: dict[str, _Load] = {}
    excluded: list[dict[str, Any]] = []
    for item in counts:
        who = actor(actors, item.identity_id)
        reason = _reason(who, actor(actors, authors.get(item.pull_request_id)), item.kind)
        if reason is not None:
            excluded.append(
                {
                    "kind": item.kind,
                    "pull_request_id": item.pull_request_id,
                    "identity": who.shown,
                    "count": item.count,
                    "reason": reason,
                }
            )
            continue
        load = loads.setdefault(_person_key(who), _Load(who.shown or UNKNOWN_ACCOUNT))
        if item.kind == "review":
            load.reviews += item.count
            load.pull_requests.add(item.pull_request_id)
        else:
            load.review_comments += item.count
    return loads, excluded


def _people(loads: dict[str, _Load]) -> list[dict[str, Any]]:
    total = sum(load.reviews for load in loads.values())
    rows = [
        {
            "person_id": None if key == UNKNOWN_ACCOUNT else key,
            "name": load.shown,
            "reviews": load.reviews,
            "pull_requests_reviewed": len(load.pull_requests),
            "review_comments": load.review_comments,
            "share_of_reviews": share(load.reviews, total),
        }
        for key, load in loads.items()
    ]
    return sorted(rows, key=lambda r: (-r["reviews"], -r["review_comments"], r["name"]))


def review_load(
    session: Session,
    scope: Scope | None = None,
    window: Window | None = None,
    *,
    explain: bool = False,
    bot_pattern: str = BOT_PATTERN,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Reviews and review comments given per person on the scope's pull requests in `window`.

    Raises `InputError` for a bad bot pattern and `NotFoundError` for an unknown scope name.
    """
    rule = bot_rule(bot_pattern)
    chosen = scope or Scope()
    resolved = resolve_scope(session, chosen)
    window = window or default_window(now or datetime.now(UTC))
    in_scope_ids = select(PullRequest.id).where(in_scope(resolved))
    reviews, comments = _in_window(window, in_scope_ids)
    counts = _counts(session, reviews, comments)
    active = union(
        select(Review.pull_request_id).where(reviews),
        select(ReviewComment.pull_request_id).where(comments),
    ).subquery()
    reviewed = PullRequest.id.in_(select(active.c[0]))
    query = select(PullRequest.id, PullRequest.author_identity_id).where(reviewed)
    authors: dict[str, str | None] = {pr_id: author for pr_id, author in session.execute(query)}
    actors = load_actors(
        session,
        rule,
        select(Review.reviewer_identity_id).where(reviews),
        select(ReviewComment.author_identity_id).where(comments),
        select(PullRequest.author_identity_id).where(reviewed),
    )
    loads, excluded = _fold(counts, authors, actors)
    people = _people(loads)
    report: dict[str, Any] = {
        "scope": chosen.to_json(),
        "window": window.to_json(),
        "reviews": sum(p["reviews"] for p in people),
        "review_comments": sum(p["review_comments"] for p in people),
        "people": people,
    }
    if explain:
        report["evidence"] = {"excluded": sorted(excluded, key=_excluded_order)}
    return report


def _excluded_order(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["pull_request_id"], row["kind"], row["reason"], row["identity"] or "")

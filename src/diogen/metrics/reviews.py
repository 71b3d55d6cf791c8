"""When a pull request was first reviewed, as the lead-time stages read it (DESIGN.md §5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, exists, false, func, select
from sqlalchemy.orm import aliased

from diogen.silver import Identity, Person, PullRequest, Review


def first_review_at() -> ColumnElement[datetime | None]:
    """A pull request's first review by someone other than its author, bots excluded, as an
    expression over `PullRequest`.

    A pull request with no review rows at all falls back to the connector's `first_review_at`.
    """
    reviewer, person = aliased(Identity), aliased(Person)
    # Correlated with the pull request of the enclosing query, two levels up.
    author_person = (
        select(Identity.person_id)
        .where(Identity.id == PullRequest.author_identity_id)
        .correlate(PullRequest)
        .scalar_subquery()
    )
    # NULL-safe: an unknown reviewer or author is not "the same" as anybody.
    not_author = and_(
        func.coalesce(Review.reviewer_identity_id == PullRequest.author_identity_id, false()).is_(
            False
        ),
        func.coalesce(reviewer.person_id == author_person, false()).is_(False),
    )
    not_bot = and_(
        func.coalesce(reviewer.is_bot, false()).is_(False),
        func.coalesce(person.is_bot, false()).is_(False),
    )
    earliest = (
        select(func.min(Review.submitted_at))
        .select_from(Review)
        .outerjoin(reviewer, reviewer.id == Review.reviewer_identity_id)
        .outerjoin(person, person.id == reviewer.person_id)
        .where(Review.pull_request_id == PullRequest.id, Review.submitted_at.is_not(None))
        .where(not_author, not_bot)
        .correlate(PullRequest)
        .scalar_subquery()
    )
    reviewed = exists().where(Review.pull_request_id == PullRequest.id)
    return case((reviewed, earliest), else_=PullRequest.first_review_at)

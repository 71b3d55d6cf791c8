"""Pull requests classified for the flow metrics: who reviewed, what counts, what is left out.

Definitions (docs/flow.md):
- a review counts when it was submitted by someone other than the author (another identity
  of the same person is the author) who is not a bot; comments count the same way;
- the first review is the earliest counting review; a pull request with no review rows at all
  falls back to the connector's `first_review_at`;
- a pull request is open at an instant from its creation until it was merged or closed, and a
  draft at that instant until it was marked ready for review.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from diogen.metrics.flow import pr_queries as q
from diogen.metrics.flow.actors import Actor, actor, load_actors
from diogen.metrics.flow.pr_queries import Group, PullRequestRow
from diogen.metrics.queries import id_list
from diogen.metrics.scope import ResolvedScope
from diogen.metrics.window import Window

OPEN_STATES = frozenset({"open", "opened"})
FROM_REVIEWS = "review"
FROM_PULL_REQUEST = "pull_request.first_review_at"


@dataclass(frozen=True)
class PullRequestFacts:
    row: PullRequestRow
    repo: str | None
    author: Actor
    first_review_at: datetime | None
    first_review_source: str | None
    reviews: int
    comments: int
    first_commit_at: datetime | None

    @property
    def size(self) -> int | None:
        if self.row.additions is None or self.row.deletions is None:
            return None
        return self.row.additions + self.row.deletions

    def open_at(self, moment: datetime) -> bool | None:
        """Open at `moment`; None when it is over but nobody recorded when."""
        row = self.row
        if row.created_at >= moment:
            return False
        ends = [end for end in (row.merged_at, row.closed_at) if end is not None]
        if not ends:
            return True if row.state.lower() in OPEN_STATES else None
        return min(ends) >= moment

    def draft_at(self, moment: datetime) -> bool:
        ready = self.row.ready_for_review_at
        return self.row.is_draft if ready is None else ready > moment


@dataclass(frozen=True)
class Excluded:
    """A row left out of a metric: `kind` pull_request, review or review_comment."""

    kind: str
    facts: PullRequestFacts
    reason: str
    detail: str
    identity: str | None = None
    count: int = 1


@dataclass
class PullRequestData:
    window: Window
    at: datetime  # the instant work in progress is measured at
    facts: list[PullRequestFacts]  # every candidate, oldest first
    activity: list[Excluded] = field(default_factory=list)  # excluded reviews and comments

    def humans(self) -> list[PullRequestFacts]:
        return [f for f in self.facts if f.author.bot is None]

    def merged(self) -> list[PullRequestFacts]:
        window = self.window
        return [
            f
            for f in self.humans()
            if f.row.merged_at is not None and window.contains(f.row.merged_at)
        ]

    def first_reviews(self) -> list[PullRequestFacts]:
        window = self.window
        return [
            f
            for f in self.humans()
            if f.first_review_at is not None and window.contains(f.first_review_at)
        ]

    def open_at(self, moment: datetime) -> list[PullRequestFacts]:
        """Non-draft pull requests of people open at `moment`: work in progress."""
        return [f for f in self.humans() if f.open_at(moment) and not f.draft_at(moment)]


@dataclass(frozen=True)
class LeftOut:
    kind: str
    group: Group
    reason: str
    detail: str


def _split(
    groups: Iterable[Group], rows: dict[str, PullRequestRow], actors: dict[str, Actor], kind: str
) -> tuple[dict[str, list[Group]], list[LeftOut]]:
    """Counting groups per pull request, and the others with their reason and detail."""
    counted: dict[str, list[Group]] = defaultdict(list)
    left_out: list[LeftOut] = []
    noun = "reviewer" if kind == "review" else "commenter"
    for group in groups:
        who = actor(actors, group.identity_id)
        author = actor(actors, rows[group.pull_request_id].author_identity_id)
        if who.bot is not None:
            left_out.append(LeftOut(kind, group, f"bot_{noun}", who.bot))
        elif who.same_person(author):
            own = f"the author's own {kind.replace('_', ' ')}"
            left_out.append(LeftOut(kind, group, f"author_{kind}", own))
        else:
            counted[group.pull_request_id].append(group)
    return counted, left_out


def _first_review(
    row: PullRequestRow, counted: list[Group], any_reviews: bool
) -> tuple[datetime | None, str | None]:
    if counted:
        return min(group.first_at for group in counted), FROM_REVIEWS
    if not any_reviews and row.first_review_at is not None:
        return row.first_review_at, FROM_PULL_REQUEST
    return None, None


def load_pull_requests(
    session: Session, resolved: ResolvedScope, window: Window, rule: re.Pattern[str], at: datetime
) -> PullRequestData:
    """Six queries: pull requests, reviews, comments, first commits, identities, repositories."""
    rows = {row.id: row for row in q.pull_requests(session, q.candidate_ids(resolved, window))}
    # The candidates resolved once: their filter (scope, window, reviews in the window) is not
    # evaluated again by each of the five statements that follow.
    candidates = id_list(session, rows)
    review_groups = q.review_groups(session, candidates)
    comment_groups = q.comment_groups(session, candidates)
    first_commits = q.first_commits(session, candidates)
    actors = load_actors(session, rule, *q.actor_ids(candidates))
    repos = q.repository_names(session, candidates)
    reviews, bad_reviews = _split(review_groups, rows, actors, "review")
    comments, bad_comments = _split(comment_groups, rows, actors, "review_comment")
    reviewed = {group.pull_request_id for group in review_groups}
    facts = {}
    for row in sorted(rows.values(), key=lambda r: (r.created_at, r.repository_id, r.number)):
        first, source = _first_review(row, reviews[row.id], row.id in reviewed)
        facts[row.id] = PullRequestFacts(
            row=row,
            repo=repos.get(row.repository_id),
            author=actor(actors, row.author_identity_id),
            first_review_at=first,
            first_review_source=source,
            reviews=sum(group.count for group in reviews[row.id]),
            comments=sum(group.count for group in comments[row.id]),
            first_commit_at=first_commits.get(row.id),
        )
    data = PullRequestData(window, at, list(facts.values()))
    data.activity = _activity(data, facts, actors, [*bad_reviews, *bad_comments])
    return data


def _activity(
    data: PullRequestData,
    facts: dict[str, PullRequestFacts],
    actors: dict[str, Actor],
    left_out: list[LeftOut],
) -> list[Excluded]:
    """Excluded reviews and comments worth showing: of merged pull requests, or in the window."""
    merged = {f.row.id for f in data.merged()}
    shown = []
    for item in left_out:
        pr = facts[item.group.pull_request_id]
        relevant = pr.row.id in merged or data.window.contains(item.group.first_at)
        if pr.author.bot is None and relevant:
            who = actor(actors, item.group.identity_id).shown
            shown.append(Excluded(item.kind, pr, item.reason, item.detail, who, item.group.count))
    return shown

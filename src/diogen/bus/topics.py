"""Which topic announces which bronze stream.

A source's records that depend on one another travel on one topic under one key, so their
order holds: a git repository's record, its refs and its commits all go to `git.commits`
keyed by the repository. Across topics there is no order; a record whose parent row has not
arrived yet fails into the dead letters and is retried (see processing/deadletters.py).
"""

from __future__ import annotations

COMMITS = "git.commits"
PULL_REQUESTS = "git.pull_requests"
CODE_REVIEWS = "git.code_reviews"
DEPLOYMENTS = "deployments"
INCIDENTS = "incidents"
ISSUES = "issues.changes"
SPRINTS = "sprints"
OTHER = "bronze.other"

STREAM_TOPICS = {
    "repository": COMMITS,
    "refs": COMMITS,
    "commits": COMMITS,
    # A sync's checkpoint follows the records it completes (see ingest/outbox.py).
    "checkpoint": COMMITS,
    "pull_requests": PULL_REQUESTS,
    "reviews": CODE_REVIEWS,
    "review_comments": CODE_REVIEWS,
    "deployments": DEPLOYMENTS,
    "releases": DEPLOYMENTS,
    "tags": DEPLOYMENTS,
    "workflow_runs": DEPLOYMENTS,
    "workflow_jobs": DEPLOYMENTS,
    "incidents": INCIDENTS,
    "issues": ISSUES,
    "issue_changes": ISSUES,
    "sprints": SPRINTS,
}
ALL_TOPICS = (COMMITS, PULL_REQUESTS, CODE_REVIEWS, DEPLOYMENTS, INCIDENTS, ISSUES, SPRINTS, OTHER)


def topic_for(stream: str) -> str:
    return STREAM_TOPICS.get(stream, OTHER)

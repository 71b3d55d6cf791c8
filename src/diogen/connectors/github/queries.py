"""The GraphQL documents the connector sends; a test validates each against GitHub's schema."""

from __future__ import annotations

ACTOR = """
fragment ActorFields on Actor {
  __typename
  login
  url
  ... on User { databaseId }
  ... on Bot { databaseId }
}
"""
PAGE = "pageInfo { hasNextPage endCursor }"
TIMELINE_TYPES = (
    "[READY_FOR_REVIEW_EVENT, CONVERT_TO_DRAFT_EVENT, REVIEW_REQUESTED_EVENT,"
    " REVIEW_REQUEST_REMOVED_EVENT]"
)
# Whom a review is asked of: a person, a bot, a team, or an imported account (mannequin).
REVIEWER = """requestedReviewer { __typename ... on Team { slug }
  ... on User { login url databaseId } ... on Bot { login url databaseId }
  ... on Mannequin { login url databaseId } }"""

# The nested lists of a pull request, each fetched in full on its own when it overflows.
CONNECTIONS = {
    "labels": f"labels(first: $first, after: $after) {{ {PAGE} nodes {{ name }} }}",
    "reviews": f"""reviews(first: $first, after: $after) {{ {PAGE}
      nodes {{ fullDatabaseId state submittedAt url author {{ ...ActorFields }} }} }}""",
    "commits": f"""commits(first: $first, after: $after) {{ {PAGE}
      nodes {{ commit {{ oid authoredDate committedDate }} }} }}""",
    "timelineItems": f"""timelineItems(first: $first, after: $after, itemTypes: {TIMELINE_TYPES})
      {{ {PAGE} nodes {{
        __typename
        ... on ReadyForReviewEvent {{ createdAt }}
        ... on ConvertToDraftEvent {{ createdAt }}
        ... on ReviewRequestedEvent {{ createdAt {REVIEWER} }}
        ... on ReviewRequestRemovedEvent {{ createdAt {REVIEWER} }}
      }} }}""",
    "reviewRequests": f"""reviewRequests(first: $first, after: $after) {{ {PAGE}
      nodes {{ asCodeOwner {REVIEWER} }} }}""",
}
NESTED_FIRST = {
    "labels": 20,
    "reviews": 50,
    "commits": 100,
    "timelineItems": 50,
    "reviewRequests": 20,
}


def _nested_first_page(name: str) -> str:
    return CONNECTIONS[name].replace("first: $first, after: $after", f"first: {NESTED_FIRST[name]}")


PULL_REQUEST_FIELDS = f"""
  id fullDatabaseId number title body url state isDraft
  createdAt updatedAt mergedAt closedAt baseRefName headRefName additions deletions
  author {{ ...ActorFields }}
  mergeCommit {{ oid }}
  {" ".join(_nested_first_page(name) for name in CONNECTIONS)}
"""

PULL_REQUESTS = (
    """
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after,
                 orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes { PULL_REQUEST_FIELDS }
    }
  }
  rateLimit { cost remaining resetAt }
}
""".replace("PULL_REQUEST_FIELDS", PULL_REQUEST_FIELDS)
    + ACTOR
)


def nested_page_query(connection: str) -> str:
    """The next page of one nested list of one pull request, by node id."""
    return (
        """
query PullRequestPage($id: ID!, $first: Int!, $after: String) {
  node(id: $id) { ... on PullRequest { CONNECTION } }
  rateLimit { cost remaining resetAt }
}
""".replace("CONNECTION", CONNECTIONS[connection])
        + (ACTOR if "ActorFields" in CONNECTIONS[connection] else "")
    )


ALL = {"PullRequests": PULL_REQUESTS} | {
    f"PullRequestPage:{name}": nested_page_query(name) for name in CONNECTIONS
}

# The history of a commit (by oid, so pages never shift while the branch moves), 100 a page.
COMMIT_HISTORY = """
query CommitHistory($owner: String!, $name: String!, $oid: GitObjectID!, $first: Int!,
                    $after: String) {
  repository(owner: $owner, name: $name) {
    object(oid: $oid) {
      ... on Commit {
        history(first: $first, after: $after) {
          pageInfo { hasNextPage endCursor }
          nodes {
            oid message additions deletions changedFilesIfAvailable authoredDate committedDate
            author { name email date }
            committer { name email date }
            parents(first: 100) { nodes { oid } }
          }
        }
      }
    }
  }
  rateLimit { cost remaining resetAt }
}
"""
ALL["CommitHistory"] = COMMIT_HISTORY

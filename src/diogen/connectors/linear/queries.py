"""The GraphQL documents the Linear connector sends (each validated against Linear's published
schema by the tests). Lists are Relay connections read with `first`/`after`."""

from __future__ import annotations

PAGE = "pageInfo { hasNextPage endCursor }"
USER = "id name displayName email active"
STATE = "id name type"

ORGANIZATION = """
query Organization {
  organization { id name urlKey }
}
"""

TEAM = f"""
query Team($key: String!) {{
  teams(first: 1, filter: {{ key: {{ eq: $key }} }}) {{
    nodes {{
      id key name cyclesEnabled
      states(first: 100) {{ nodes {{ {STATE} position }} }}
      labels(first: 250) {{ nodes {{ id name }} }}
    }}
  }}
}}
"""

CYCLES = f"""
query Cycles($team: String!, $first: Int!, $after: String) {{
  team(id: $team) {{
    cycles(first: $first, after: $after, includeArchived: true) {{
      {PAGE}
      nodes {{
        id number name description startsAt endsAt completedAt
        isActive isFuture isPast updatedAt
      }}
    }}
  }}
}}
"""

PROJECTS = f"""
query Projects($team: String!, $first: Int!, $after: String) {{
  team(id: $team) {{
    projects(first: $first, after: $after, includeArchived: true) {{
      {PAGE}
      nodes {{ id name state startedAt completedAt targetDate url updatedAt }}
    }}
  }}
}}
"""

HISTORY_NODE = f"""
id createdAt
actor {{ {USER} }}
fromState {{ {STATE} }}
toState {{ {STATE} }}
fromCycleId toCycleId fromEstimate toEstimate
fromAssigneeId toAssigneeId
"""

ISSUES = f"""
query Issues($filter: IssueFilter!, $first: Int!, $after: String, $historyFirst: Int!) {{
  issues(
    first: $first, after: $after, orderBy: updatedAt, includeArchived: true, filter: $filter
  ) {{
    {PAGE}
    nodes {{
      id identifier number title url branchName priority priorityLabel estimate
      createdAt updatedAt startedAt completedAt canceledAt archivedAt
      state {{ {STATE} }}
      assignee {{ {USER} }}
      creator {{ {USER} }}
      cycle {{ id }}
      project {{ id name }}
      parent {{ id identifier }}
      team {{ id key }}
      labels(first: 50) {{ nodes {{ id name }} }}
      history(first: $historyFirst) {{
        {PAGE}
        nodes {{ {HISTORY_NODE} }}
      }}
    }}
  }}
}}
"""

ISSUE_HISTORY = f"""
query IssueHistory($issue: String!, $first: Int!, $after: String) {{
  issue(id: $issue) {{
    history(first: $first, after: $after) {{
      {PAGE}
      nodes {{ {HISTORY_NODE} }}
    }}
  }}
}}
"""

ALL = {
    "organization": ORGANIZATION,
    "team": TEAM,
    "cycles": CYCLES,
    "projects": PROJECTS,
    "issues": ISSUES,
    "issue_history": ISSUE_HISTORY,
}

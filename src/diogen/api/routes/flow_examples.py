"""OpenAPI examples of the flow, team, pull request and sprint reports (docs/flow.md's worked
examples, shortened: the full documents have more keys, never fewer)."""

from __future__ import annotations

from typing import Any

WINDOW = {"from": "2024-01-01T00:00:00Z", "to": "2024-01-15T00:00:00Z"}
_STAGE = {"pull_requests": 2, "median_hours": 25.0, "p75_hours": 25.5, "p90_hours": 25.8}
FLOW_EXAMPLE: dict[str, Any] = {
    "scope": {"org": "acme", "team": "core"},
    "window": WINDOW,
    "pull_requests": {
        "throughput": {"merged": 3, "per_week": 1.5},
        "size": {"pull_requests": 3, "median_lines": 25.0, "unknown": 0},
        "time_to_first_review": {"pull_requests": 3, "median_hours": 12.0},
        "review_depth": {"reviews": 3, "review_comments": 5, "unreviewed": 1},
        "wip": {
            "at": "2024-01-15T00:00:00Z",
            "open": 3,
            "age": {"pull_requests": 3, "median_hours": 112.0},
            "age_bands": {
                "up_to_1_day": 0,
                "up_to_3_days": 0,
                "up_to_7_days": 2,
                "up_to_30_days": 1,
                "over_30_days": 0,
            },
        },
    },
    "bottleneck": {
        "stage": "coding",
        "share": 0.5814,
        "total_median_hours": 43.0,
        "stages": [
            {"stage": "coding", **_STAGE, "share": 0.5814},
            {"stage": "pickup", **_STAGE, "median_hours": 14.0, "share": 0.3256},
            {"stage": "review", **_STAGE, "median_hours": 4.0, "share": 0.093},
        ],
        "trend": {"bucket": "week", "direction": "steady", "buckets": []},
    },
    "issues": {"rule": "issues whose assignee was a member of the team when the issue was created"},
    "sprints": {"sprints": 1, "mean_completed_points": 12.0, "items": []},
    "notes": [],
}
TEAM_EXAMPLE: dict[str, Any] = {
    "team_id": "77aa...",
    "scope": {"org": "acme", "team": "core"},
    "dora": {"scope": {"org": "acme", "team": "core"}, "window": WINDOW},
    "flow": FLOW_EXAMPLE,
}
PULLS_EXAMPLE: dict[str, Any] = {
    "scope": {"repo": "api"},
    "window": WINDOW,
    "stages": {
        "pull_requests": 1,
        "coding": {"median_hours": 24.0, "p75_hours": 24.0, "p90_hours": 24.0},
        "pickup": {"median_hours": 4.0, "p75_hours": 4.0, "p90_hours": 4.0},
        "review": {"median_hours": 4.0, "p75_hours": 4.0, "p90_hours": 4.0},
        "deploy": {"median_hours": 16.0, "p75_hours": 16.0, "p90_hours": 16.0},
    },
    "pull_requests": 1,
    "items": [
        {
            "kind": "pull_request",
            "repo": "api",
            "pull_request": "#1",
            "lead_time_hours": 48.0,
            "deployed_at": "2024-01-03T09:00:00Z",
            "stages": {
                "coding_hours": 24.0,
                "pickup_hours": 4.0,
                "review_hours": 4.0,
                "deploy_hours": 16.0,
            },
        }
    ],
}
_FIGURES: dict[str, Any] = {
    "id": "3c1d...",
    "name": "S1",
    "start": "2024-01-01T10:00:00Z",
    "end": "2024-01-12T10:00:00Z",
    "is_complete": True,
    "committed": {"issues": 4, "points": 11.0},
    "added_after_start": {"issues": 2, "points": 21.0},
    "removed_after_start": {"issues": 2, "points": 15.0},
    "completed": {"issues": 3, "points": 12.0},
    "carry_over": {"issues": 1, "points": 5.0},
    "scope_at_end": {"issues": 4, "points": 17.0},
    "completion_ratio": 1.0909,
}
SPRINTS_EXAMPLE: dict[str, Any] = {
    "scope": {"org": "acme", "team": "core"},
    "window": WINDOW,
    "sprints": 1,
    "mean_completed_points": 12.0,
    "median_completed_points": 12.0,
    "mean_committed_points": 11.0,
    "completion_ratio": 1.0909,
    "items": [_FIGURES],
}
SPRINT_EXAMPLE: dict[str, Any] = {
    "scope": {"org": "acme", "team": "core"},
    **_FIGURES,
    "series": [
        {
            "at": "2024-01-01T10:00:00Z",
            "scope_points": 11.0,
            "completed_points": 0.0,
            "remaining_points": 11.0,
            "ideal_remaining_points": 11.0,
        }
    ],
}
REVIEW_LOAD_EXAMPLE: dict[str, Any] = {
    "scope": {"repo": "api"},
    "window": WINDOW,
    "reviews": 4,
    "review_comments": 5,
    "people": [
        {
            "person_id": "ad41...",
            "name": "carol",
            "reviews": 2,
            "pull_requests_reviewed": 1,
            "review_comments": 3,
            "share_of_reviews": 0.5,
        }
    ],
}

"""Every GraphQL document the connector sends is valid against GitHub's published schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from diogen.connectors.github import queries
from diogen.testing.fake_github import SCHEMA, github_schema, query_cost


@pytest.mark.parametrize("name", sorted(queries.ALL))
def test_query_validates_against_github_schema(name: str, shared_data: Path) -> None:
    schema = github_schema(shared_data / SCHEMA)
    errors = validate(schema, parse(queries.ALL[name]))
    assert errors == [], [error.message for error in errors]


def test_an_invalid_query_is_caught(shared_data: Path) -> None:
    """The check has teeth: a misspelt field fails it."""
    schema = github_schema(shared_data / SCHEMA)
    broken = queries.PULL_REQUESTS.replace("mergedAt", "mergedOn")
    (error,) = validate(schema, parse(broken))
    assert error.message.startswith("Cannot query field 'mergedOn' on type 'PullRequest'.")


def test_pull_request_page_costs_one_point() -> None:
    """1 request for the page + 25 pull requests x 5 nested lists = 126 → round(1.26) = 1."""
    document = parse(queries.PULL_REQUESTS)
    assert query_cost(document, {"first": 25}) == 1
    assert query_cost(document, {"first": 100}) == 5  # 1 + 100 x 5 = 501

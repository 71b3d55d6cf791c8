"""Every GraphQL document the Linear connector sends is valid against Linear's published
schema (the fake executes them against the same schema, so a sync also proves it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from diogen.connectors.linear import queries
from diogen.testing.fake_linear import SCHEMA, linear_schema


@pytest.mark.parametrize("name", sorted(queries.ALL))
def test_query_validates_against_linear_schema(name: str, shared_data: Path) -> None:
    errors = validate(linear_schema(shared_data / SCHEMA), parse(queries.ALL[name]))
    assert errors == [], [error.message for error in errors]


def test_an_invalid_query_is_caught(shared_data: Path) -> None:
    """The check has teeth: a misspelt field fails it."""
    broken = queries.ISSUES.replace("toCycleId", "toCycle_id")
    (error,) = validate(linear_schema(shared_data / SCHEMA), parse(broken))
    assert error.message.startswith("Cannot query field 'toCycle_id' on type 'IssueHistory'.")

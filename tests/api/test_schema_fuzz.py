"""Schemathesis against our own OpenAPI document, in-process: no 5xx, no answer that breaks
the documented schema, on SQLite and PostgreSQL. Examples per operation are bounded to keep
the run inside the CI budget."""

from __future__ import annotations

from typing import Any

import schemathesis
from api_support import World, seed
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

EXAMPLES = 8
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_no_server_errors_and_no_schema_violations(world: World) -> None:
    with world.session() as session:
        seed(session, world.org_ids["alpha"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    headers = world.headers("root")
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            statuses.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        try:
            check()
        except Exception as exc:  # every operation runs; all failures are reported together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert operations >= 45
    # Generated cases reach the handlers, not just the validation layer.
    assert len(statuses) > operations * 3 and {200, 404} <= set(statuses)


def _has_example(node: object, components: dict[str, object], seen: set[str]) -> bool:
    """Whether a response or body (following $refs into components) carries an example."""
    if isinstance(node, dict):
        if "example" in node or "examples" in node:
            return True
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            return _has_example(components[ref.rsplit("/", 1)[-1]], components, seen)
        return any(_has_example(value, components, seen) for value in node.values())
    if isinstance(node, list):
        return any(_has_example(value, components, seen) for value in node)
    return False


def _documented(operation: dict[str, Any], components: dict[str, Any]) -> bool:
    """An example of its answer or of its body; a bodiless 204 answer needs none."""
    successes = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
    if _has_example(successes, components, set()):
        return True
    if _has_example(operation.get("requestBody", {}), components, set()):
        return True
    return set(successes) == {"204"} and "requestBody" not in operation


def test_every_operation_documents_an_example(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not _documented(operation, components)
    ]

    assert undocumented == []
    assert world.client.get("/docs").status_code == 200

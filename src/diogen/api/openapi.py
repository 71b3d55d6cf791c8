"""Adjustments to the generated OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from diogen.api.problems import PROBLEM_JSON

API_PREFIX = "/api/"


def problem_content_types(app: FastAPI) -> None:
    """Error answers are `application/problem+json`; FastAPI documents them as JSON."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            for name, path in schema["paths"].items():
                if not name.startswith(API_PREFIX):
                    continue
                for operation in path.values():
                    _retype_errors(operation.get("responses", {}))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def _retype_errors(responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        content = response.get("content", {})
        if status[0] in "45" and "application/json" in content:
            content.setdefault(PROBLEM_JSON, content.pop("application/json"))

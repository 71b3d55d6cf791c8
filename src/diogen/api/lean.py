"""The hottest reads answered without FastAPI's routing and dependency solving.

A GET of a route that needs only its path and query parameters, the session, the principal
and the app's state, and answers with a `Response` (the analytics reports and the CRUD reads
of one row or page), costs a warm answer half its CPU in FastAPI's machinery and in two trips
to the thread pool (the principal, then the route). Here such a request is matched by the
route's own path pattern, its parameters validated by FastAPI's own code against the route's
own declarations, and the principal and the route run in one trip: the same functions
(`deps.current_principal`, the route's endpoint), so authentication, rate limits, roles and
the answers are those of the full path. They run a few at a time, in the order they came
(`api.lane`). Errors are answered by the app's own exception handlers; a request whose
parameters do not validate, and every other request, goes through FastAPI unchanged (which
answers its 422). The OpenAPI document still describes every route: nothing is removed from
the app.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, get_type_hints

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session
from starlette.convertors import Convertor
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from diogen.api.deps import _bearer, api_state, current_principal, db_session
from diogen.api.state import ApiState

PREFIX = "/api/"
# Validated query strings kept per process (each at most a few kilobytes).
QUERIES_KEPT = 512
# What a lean route's endpoint may ask for besides its parameters, by the dependency's callable.
SESSION, PRINCIPAL, STATE = "session", "principal", "state"
_PROVIDED: dict[Callable[..., Any], str] = {
    db_session: SESSION,
    current_principal: PRINCIPAL,
    api_state: STATE,
}


@dataclass(frozen=True, eq=False)
class LeanRoute:
    route: APIRoute
    pattern: re.Pattern[str]
    convertors: Mapping[str, Convertor[Any]]
    # The endpoint's parameter name for each of SESSION, PRINCIPAL and STATE it asks for.
    provided: Mapping[str, str]

    def match(self, path: str) -> dict[str, Any] | None:
        found = self.pattern.match(path)
        if found is None:
            return None
        return {k: self.convertors[k].convert(v) for k, v in found.groupdict().items()}


def lean_routes(routes: list[APIRoute]) -> list[LeanRoute]:
    """The routes of `routes` the lean path can answer exactly as FastAPI would."""
    found = []
    for route in routes:
        provided = _provided(route)
        if provided is not None:
            found.append(LeanRoute(route, route.path_regex, route.param_convertors, provided))
    return found


def _provided(route: APIRoute) -> dict[str, str] | None:
    dependant = route.dependant
    if "GET" not in (route.methods or ()) or not _plain(dependant) or not _answers(route.endpoint):
        return None
    provided = {}
    for dependency in dependant.dependencies:
        what = _PROVIDED.get(dependency.call) if dependency.call else None
        if what is None or dependency.name is None:
            return None
        provided[what] = dependency.name
    # The principal's dependency counts the rate limits: without it the route's router counts
    # the address (`deps.limit_by_address`), which only the full path does.
    return provided if PRINCIPAL in provided else None


def _plain(dependant: Dependant) -> bool:
    """Only path and query parameters and dependencies: nothing else to solve."""
    special = (
        dependant.request_param_name,
        dependant.websocket_param_name,
        dependant.http_connection_param_name,
        dependant.response_param_name,
        dependant.background_tasks_param_name,
        dependant.security_scopes_param_name,
    )
    extra = dependant.header_params or dependant.cookie_params or dependant.body_params
    return not extra and all(name is None for name in special)


def _answers(endpoint: Callable[..., Any]) -> bool:
    """A sync endpoint that returns its `Response`, which FastAPI sends as it is."""
    if inspect.iscoroutinefunction(endpoint):
        return False
    returned = get_type_hints(endpoint).get("return")
    return isinstance(returned, type) and issubclass(returned, Response)


class LeanReads:
    """ASGI middleware: the GETs of `routes` answered directly; every other request passed on.

    It sits just inside the request id, ETag and cancel-on-disconnect middleware, so their
    work is done for these answers as for the others.
    """

    def __init__(self, app: ASGIApp, api: FastAPI, routes: list[LeanRoute]) -> None:
        self.app = app
        self.api = api
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith(PREFIX)
            and not scope.get("root_path")
        ):
            path = scope["path"]
            for lean in self.routes:
                params = lean.match(path)
                if params is not None:
                    await self._answer(lean, params, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(
        self,
        lean: LeanRoute,
        path_params: dict[str, Any],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        scope["path_params"] = path_params
        scope["route"] = lean.route
        request = Request(scope, receive)
        dependant = lean.route.dependant
        values, errors = request_params_to_args(dependant.path_params, path_params)
        query, query_errors = _query(lean, scope["query_string"])
        if errors or query_errors:
            await self.app(scope, receive, send)  # FastAPI answers the 422
            return
        credentials = await _bearer(request)
        try:
            state: ApiState = self.api.state.diogen
            response = await state.lane.run(
                partial(_run, lean, request, state, credentials, {**values, **query})
            )
        except Exception as exc:
            handler = _handler(self.api, exc)
            if handler is None:
                raise  # FastAPI's outermost middleware answers 500 and logs it
            response = await handler(request, exc)
        await response(scope, receive, send)


@lru_cache(maxsize=QUERIES_KEPT)
def _validated(lean: LeanRoute, query_string: bytes) -> tuple[dict[str, Any], list[Any]]:
    fields = lean.route.dependant.query_params
    return request_params_to_args(fields, QueryParams(query_string))


def _query(lean: LeanRoute, query_string: bytes) -> tuple[dict[str, Any], list[Any]]:
    """The route's query parameters validated, as FastAPI does (a tenth of a warm answer's
    time for a report's dozen parameters); the same few query strings come again and again
    (a dashboard's), so their outcome is kept."""
    values, errors = _validated(lean, query_string)
    return dict(values), errors


def _run(
    lean: LeanRoute,
    request: Request,
    state: ApiState,
    credentials: HTTPAuthorizationCredentials | None,
    values: dict[str, Any],
) -> Response:
    """The principal, then the route, in one worker thread (in the worker's lane: see
    `api.lane`), in a GET's session."""
    session = Session(state.reader, expire_on_commit=False)
    try:
        principal = current_principal(request, state, session, credentials)
        given = {SESSION: session, PRINCIPAL: principal, STATE: state}
        kwargs = {name: given[what] for what, name in lean.provided.items()}
        response: Response = lean.route.endpoint(**values, **kwargs)
        return response
    finally:
        session.close()


def _handler(api: FastAPI, exc: Exception) -> Callable[..., Any] | None:
    """The app's handler of `exc`, as Starlette's ExceptionMiddleware finds it; None for the
    catch-all `Exception` handler, which Starlette runs outermost (and re-raises after)."""
    handlers = api.exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None

"""Serving the dashboard: `/` is the page, `/static/...` its assets; nothing else is claimed.

The dashboard is plain HTML, CSS and ES modules with no build step: every file under `static/`
ships in the wheel and is served from it, so the dashboard works offline. It talks to the API
of the same app, with the API's own users and tokens.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
DEFAULT_POLL_SECONDS = 30
# Everything the page loads comes from this origin; inline script and style are refused.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class _Assets(StaticFiles):
    """Static files that browsers revalidate (a cheap 304), so an upgrade never mixes the
    modules of two versions."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@cache
def _template() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def mount_dashboard(app: FastAPI, *, poll_seconds: int = DEFAULT_POLL_SECONDS) -> None:
    """Serve the dashboard at `/` and its assets at `/static/`. `poll_seconds` is how often
    an open page asks whether new data arrived."""
    if poll_seconds < 1:
        raise ValueError(f"poll_seconds must be at least 1, not {poll_seconds}")
    page = _template().replace("{{POLL_SECONDS}}", str(poll_seconds))

    async def dashboard() -> HTMLResponse:
        return HTMLResponse(page, headers=SECURITY_HEADERS)

    app.add_api_route("/", dashboard, methods=["GET"], include_in_schema=False)
    app.mount("/static", _Assets(directory=STATIC), name="dashboard-static")


def _day(moment: date | datetime) -> str:
    return moment.date().isoformat() if isinstance(moment, datetime) else moment.isoformat()


def dashboard_url(
    base_url: str,
    *,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    org: str | None = None,
    team: str | None = None,
    repo: str | None = None,
    service: str | None = None,
    page: str = "overview",
) -> str:
    """The link to a dashboard page with its filters, e.g. for `diogen demo` to print.

    `start` is included and `end` excluded, as in the API; datetimes are cut to their UTC day.
    """
    filters = {
        "from": _day(start) if start is not None else None,
        "to": _day(end) if end is not None else None,
        "org": org,
        "team": team,
        "repo": repo,
        "service": service,
    }
    query = urlencode({key: value for key, value in filters.items() if value})
    return f"{base_url.rstrip('/')}/#/{page}" + (f"?{query}" if query else "")

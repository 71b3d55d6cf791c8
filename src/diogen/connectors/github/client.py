"""GitHub over the shared HTTP client: REST pages, GraphQL, and GitHub's own limit signals."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from diogen.connectors.base import FetchStats
from diogen.connectors.github.app import InstallationToken
from diogen.connectors.github.config import GitHubConfig
from diogen.connectors.http import Clock, Credentials, HttpClient, Response, RetryPolicy, Sleep
from diogen.errors import SourceError

HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "User-Agent": "diogen",
}
# GitHub's advice for a secondary limit that names no wait: at least a minute.
SECONDARY_WAIT = 60.0


def secondary_limit(response: httpx.Response) -> float | None:
    """A 403 whose message speaks of a rate limit (secondary limits may send no headers)."""
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        return None
    return SECONDARY_WAIT if "rate limit" in message.lower() else None


def same_site(api_url: str, clone_url: str) -> bool:
    """Whether `clone_url` is served by the GitHub the API is (api.github.com: github.com;
    an Enterprise Server: its own host), over HTTPS, or plain HTTP to a loopback test host."""
    api, clone = urlsplit(api_url), urlsplit(clone_url)
    if clone.scheme != "https" and not (clone.scheme == "http" and clone.hostname == "127.0.0.1"):
        return False
    api_host = (api.hostname or "").removeprefix("api.")
    return api_host != "" and api_host == clone.hostname and api.port == clone.port


class GitHubApi:
    def __init__(
        self,
        config: GitHubConfig,
        stats: FetchStats,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        options: dict[str, Any] = {
            "headers": HEADERS,
            "transport": transport,
            "timeout": config.timeout,
            "retry": retry,
            "limit_hint": secondary_limit,
            "stats": stats,
            "clock": clock or time.time,
        }
        if sleep is not None:
            options["sleep"] = sleep
        self.config = config
        self.stats = stats
        self.app_http: HttpClient | None = None
        credentials: Credentials | None = None
        if config.app is not None:
            # Requests as the app itself (JWT) go through a client of their own.
            self.app_http = HttpClient(config.api_url + "/", **options)
            first = config.repos[0] if config.repos else None
            credentials = InstallationToken(
                config.app,
                self.app_http,
                clock=options["clock"],
                stats=stats,
                owner=first.split("/")[0] if first else config.org,
                repo=first,
            )
        self.http = HttpClient(
            config.api_url + "/",
            tokens=[token.get_secret_value() for token in config.tokens],
            credentials=credentials,
            **options,
        )

    def git_authorization(self, clone_url: str) -> str | None:
        """HTTP Basic for cloning `clone_url` with the current token, or None: without a
        token, or for a URL on another site than the API's (a token is never sent there).
        GitHub takes any user name with a token; `x-access-token` suits app tokens too."""
        token = self.http.current_token()
        if token is None or not same_site(self.config.api_url, clone_url):
            return None
        return "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()

    def close(self) -> None:
        self.http.close()
        if self.app_http is not None:
            self.app_http.close()

    def get(self, path: str, *, etag: str | None = None, **params: Any) -> Response:
        return self.http.request("GET", path.lstrip("/"), params=params or None, etag=etag)

    def pages(self, path: str, *, etag: str | None = None, **params: Any) -> Iterator[Response]:
        params.setdefault("per_page", self.config.page_size)
        return self.http.pages(path.lstrip("/"), params, etag=etag)

    def items(self, path: str, key: str | None = None, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (`key`: the list's field in a wrapping object)."""
        for page in self.pages(path, **params):
            yield from page.data[key] if key else page.data

    def graphql(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        response = self.http.request(
            "POST", self.config.graphql_endpoint, json={"query": query, "variables": variables}
        )
        body = response.data
        if not isinstance(body, dict):
            raise SourceError("GitHub GraphQL answered without a JSON object", url=response.url)
        if body.get("errors"):
            messages = "; ".join(str(e.get("message", e)) for e in body["errors"])
            raise SourceError(f"GitHub GraphQL query failed: {messages}", url=response.url)
        data: dict[str, Any] = body["data"]
        limit = data.get("rateLimit") or {}
        if "cost" in limit:
            self.stats.add("graphql_points", int(limit["cost"]))
            self.stats.counters["graphql_remaining"] = int(limit["remaining"])
        return data

"""Jira over the shared HTTP client: authentication and Jira's two kinds of paging.

Most lists page by offset (`startAt`, `maxResults`, then `isLast` or `total`); Cloud's issue
search and bulk changelog page by token (`nextPageToken`). Retries, 429 `Retry-After` waits
and timeouts are the shared client's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from diogen.connectors.base import FetchStats
from diogen.connectors.http import Clock, HttpClient, RetryPolicy, Sleep
from diogen.connectors.jira.config import JiraConfig
from diogen.errors import SourceError

HEADERS = {"Accept": "application/json", "User-Agent": "diogen"}
# Cloud's bulk changelog takes at most 1000 issues per request.
BULK_ISSUES = 1000


class JiraApi:
    def __init__(
        self,
        config: JiraConfig,
        stats: FetchStats,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        options: dict[str, Any] = {}
        if sleep is not None:
            options["sleep"] = sleep
        if clock is not None:
            options["clock"] = clock
        secret = config.token.get_secret_value()
        if config.is_cloud:
            scheme = "Basic"
            credential = base64.b64encode(f"{config.email}:{secret}".encode()).decode()
        else:
            scheme, credential = "Bearer", secret
        self.config = config
        self.http = HttpClient(
            config.url + "/",
            tokens=[credential],
            auth_scheme=scheme,
            headers=HEADERS,
            transport=transport,
            timeout=config.timeout,
            retry=retry,
            stats=stats,
            **options,
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> Any:
        return self.http.request("GET", path, params=params or None).data

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.http.request("POST", path, json=body).data

    def offset_pages(self, path: str, key: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        """Each page of an offset-paged list whose items are under `key`."""
        start = 0
        while True:
            page = self.get(path, startAt=start, maxResults=self.config.page_size, **params)
            items = _items(page, key, path)
            yield items
            start += len(items)
            if not items or page.get("isLast") is True:
                return
            total = page.get("total")
            if page.get("isLast") is None and (not isinstance(total, int) or start >= total):
                return

    def token_pages(
        self, method: str, path: str, key: str, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Each page of a token-paged list (GET: token in the query, POST: in the body)."""
        token: str | None = None
        while True:
            args = {**params, **({"nextPageToken": token} if token else {})}
            page = self.get(path, **args) if method == "GET" else self.post(path, args)
            _items(page, key, path)
            yield page
            token = page.get("nextPageToken")
            if not token or page.get("isLast") is True:
                return

    def bulk_changelogs(self, issue_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Every issue's whole changelog through Cloud's bulk endpoint."""
        found: dict[str, list[dict[str, Any]]] = {issue: [] for issue in issue_ids}
        for start in range(0, len(issue_ids), BULK_ISSUES):
            chunk = list(issue_ids[start : start + BULK_ISSUES])
            body = {"issueIdsOrKeys": chunk, "maxResults": 1000}
            for page in self.token_pages("POST", "rest/api/3/changelog/bulkfetch", "", **body):
                for entry in page.get("issueChangeLogs") or []:
                    found.setdefault(str(entry["issueId"]), []).extend(
                        entry.get("changeHistories") or []
                    )
        return found

    def issue_changelog(self, issue_id: str) -> list[dict[str, Any]]:
        """One issue's whole changelog, page by page."""
        path = f"{self.config.api}/issue/{issue_id}/changelog"
        return [history for page in self.offset_pages(path, "values") for history in page]


def _items(page: Any, key: str, path: str) -> list[dict[str, Any]]:
    if not isinstance(page, dict) or (key and not isinstance(page.get(key), list)):
        raise SourceError(f"Jira answered {path} without a {key or 'JSON'} list", path=path)
    items: list[dict[str, Any]] = page[key] if key else []
    return items

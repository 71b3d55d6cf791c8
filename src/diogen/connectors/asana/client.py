"""Asana's REST API over the shared HTTP client: `{"data": …}` answers and offset paging
(`next_page.offset`). Retries, 429 `Retry-After` waits and timeouts are the shared client's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

from diogen.connectors.asana.config import AsanaConfig
from diogen.connectors.base import FetchStats
from diogen.connectors.http import Clock, HttpClient, RetryPolicy, Sleep
from diogen.errors import SourceError


class AsanaApi:
    def __init__(
        self,
        config: AsanaConfig,
        stats: FetchStats,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.http = HttpClient(
            config.api_url + "/",
            tokens=[config.token.get_secret_value()],
            headers={"Accept": "application/json", "User-Agent": "diogen"},
            transport=transport,
            timeout=config.timeout,
            retry=retry,
            sleep=sleep,
            clock=clock,
            stats=stats,
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> Any:
        body = self.http.request("GET", path, params=params or None).data
        if not isinstance(body, dict) or "data" not in body:
            raise SourceError(f"Asana answered {path} without data", path=path)
        return body["data"]

    def pages(
        self, path: str, *, offset: str | None = None, **params: Any
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Each page of a list: (items, the offset of the next page or None)."""
        while True:
            args = {**params, "limit": self.config.page_size}
            if offset:
                args["offset"] = offset
            body = self.http.request("GET", path, params=args).data
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceError(f"Asana answered {path} without a data list", path=path)
            offset = (body.get("next_page") or {}).get("offset")
            yield body["data"], offset
            if not offset:
                return

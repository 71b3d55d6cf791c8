"""Linear's GraphQL API over the shared HTTP client, and its Relay connections.

Retries, timeouts and 429 waits are the shared client's. Linear reports its request budget in
`X-RateLimit-Requests-Remaining` / `-Reset` (the reset in epoch milliseconds); a refusal
without `Retry-After` waits until that reset.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from diogen.connectors.base import FetchStats
from diogen.connectors.http import Clock, HttpClient, RetryPolicy, Sleep
from diogen.connectors.linear.config import LinearConfig
from diogen.errors import SourceError

RESET_HEADER = "x-ratelimit-requests-reset"
REMAINING_HEADER = "x-ratelimit-requests-remaining"


def reset_wait(clock: Clock) -> Any:
    """The limit hint: seconds until Linear's request budget resets (header in ms), for a
    429, or for a 400 whose GraphQL error is RATELIMITED."""

    def hint(response: httpx.Response) -> float | None:
        if response.status_code == 400 and not _rate_limited(response):
            return None
        reset = response.headers.get(RESET_HEADER, "")
        if not reset.isdigit():
            return None
        return max(0.0, int(reset) / 1000 - clock()) + 1.0

    return hint


def _rate_limited(response: httpx.Response) -> bool:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return False
    return any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "RATELIMITED"
        for e in errors
    )


class LinearApi:
    def __init__(
        self,
        config: LinearConfig,
        stats: FetchStats,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        retry: RetryPolicy | None = None,
    ) -> None:
        headers = {
            "Accept": "application/json",
            "User-Agent": "diogen",
            "Authorization": config.authorization,
        }
        self.stats = stats
        # The endpoint is sent as an absolute URL: a base URL would gain a trailing slash.
        self.url = config.api_url
        self.http = HttpClient(
            config.api_url,
            headers=headers,
            transport=transport,
            timeout=config.timeout,
            retry=retry,
            limit_hint=reset_wait(clock),
            limit_statuses=frozenset({400, 429}),
            sleep=sleep,
            clock=clock,
            stats=stats,
        )

    def close(self) -> None:
        self.http.close()

    def query(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of one GraphQL request; GraphQL errors are a SourceError."""
        response = self.http.request(
            "POST", self.url, json={"query": document, "variables": variables}
        )
        remaining = response.headers.get(REMAINING_HEADER, "")
        if remaining.isdigit():
            self.stats.counters["rate_limit_remaining"] = int(remaining)
        body = response.data
        if not isinstance(body, dict):
            raise SourceError("Linear answered without a JSON object")
        errors = body.get("errors") or []
        if errors:
            first: dict[str, Any] = (
                errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
            )
            code = (first.get("extensions") or {}).get("code")
            raise SourceError(
                f"Linear refused the query: {first.get('message')}"
                + (f" ({code})" if code else ""),
                code=code,
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise SourceError("Linear answered without data")
        return data

    def connection(
        self,
        document: str,
        variables: Mapping[str, Any],
        path: Sequence[str],
        *,
        after: str | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], str | None, bool]]:
        """Each page of the connection at `path` in the answer: (nodes, end cursor, more)."""
        while True:
            data: Any = self.query(document, {**variables, "after": after})
            for key in path:
                if not isinstance(data, dict) or data.get(key) is None:
                    raise SourceError(f"Linear answered without {'.'.join(path)}")
                data = data[key]
            info = data.get("pageInfo") or {}
            more = bool(info.get("hasNextPage"))
            after = info.get("endCursor")
            yield list(data.get("nodes") or []), after, more
            if not more or not after:
                return

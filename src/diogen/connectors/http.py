"""The HTTP client every API connector shares: retries, rate limits, paging, conditional requests.

Provider-neutral: a provider passes its header names and, where its API signals limits in its
own way, a hint function. Time is injected (`sleep`, `clock`, `jitter`) so tests never wait.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from diogen.connectors.base import FetchStats
from diogen.errors import SourceError

Sleep = Callable[[float], None]
Clock = Callable[[], float]
# A provider's own reading of a refused response: seconds to wait, or None if not a limit.
LimitHint = Callable[[httpx.Response], float | None]
TRANSIENT = frozenset({500, 502, 503, 504})
LINK = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


class Credentials(Protocol):
    """A credential that changes over time (a GitHub App installation token, say): `token()`
    gives the one to use now, renewing it when due; `invalidate()` drops one refused with 401."""

    def token(self) -> str: ...

    def invalidate(self) -> None: ...


class HttpError(SourceError):
    """A provider answered with an error status (after any retries)."""

    def __init__(self, message: str, *, status: int, url: str) -> None:
        super().__init__(message, status=status, url=url)
        self.status = status
        self.url = url


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """Where a provider reports its quota: remaining requests, and the epoch second it resets."""

    remaining: str = "x-ratelimit-remaining"
    reset: str = "x-ratelimit-reset"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    # Waits for a rate limit, beyond which the provider is taken to refuse us for good.
    limit_waits: int = 10

    def backoff(self, attempt: int, jitter: float) -> float:
        """Exponential, with 50-150 % jitter so parallel clients do not retry in step."""
        return float(min(self.max_delay, self.base_delay * 2**attempt) * (0.5 + jitter))


@dataclass(slots=True)
class Token:
    value: str
    remaining: int | None = None
    reset: float = 0.0


class TokenPool:
    """Several credentials for one provider; each request takes the one with most quota left."""

    def __init__(self, tokens: Sequence[str], clock: Clock) -> None:
        self.tokens = [Token(value) for value in dict.fromkeys(tokens)]
        self.clock = clock

    def choose(self) -> tuple[Token | None, float]:
        """The token to use and how long to wait before using it (all exhausted: until the
        earliest reset)."""
        if not self.tokens:
            return None, 0.0
        now = self.clock()
        for token in self.tokens:
            if token.remaining is not None and token.reset <= now:
                token.remaining = None  # its window has passed: quota is back
        best = max(self.tokens, key=lambda t: float("inf") if t.remaining is None else t.remaining)
        if best.remaining == 0:
            soonest = min(self.tokens, key=lambda t: t.reset)
            return soonest, max(0.0, soonest.reset - now)
        return best, 0.0

    def lowest_remaining(self) -> int | None:
        known = [t.remaining for t in self.tokens if t.remaining is not None]
        return min(known) if known else None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    url: str
    headers: httpx.Headers
    data: Any
    links: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        etag: str | None = self.headers.get("etag")
        return etag


def parse_links(header: str | None) -> dict[str, str]:
    """RFC 8288 Link header → {rel: url}."""
    return {rel: url for url, rel in LINK.findall(header or "")}


class HttpClient:
    """JSON over HTTP with retries of transient failures and waits for rate limits."""

    def __init__(
        self,
        base_url: str,
        *,
        tokens: Sequence[str] = (),
        credentials: Credentials | None = None,
        auth_scheme: str = "Bearer",
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        limits: RateLimitHeaders | None = None,
        limit_hint: LimitHint | None = None,
        limit_statuses: frozenset[int] = frozenset({403, 429}),
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        jitter: Callable[[], float] = random.random,
        stats: FetchStats | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers=dict(headers or {}), transport=transport, timeout=timeout
        )
        # Renewed credentials keep one pool entry: the quota belongs to the credential's owner.
        self.credentials = credentials
        self.pool = TokenPool(["renewed"] if credentials else tokens, clock)
        self.auth_scheme = auth_scheme
        self.retry = retry or RetryPolicy()
        self.limits = limits or RateLimitHeaders()
        self.limit_hint = limit_hint
        # Statuses a provider may refuse with for its limits (Linear also says so with a 400).
        self.limit_statuses = limit_statuses
        self.sleep, self.clock, self.jitter = sleep, clock, jitter
        self.stats = stats or FetchStats()

    def current_token(self) -> str | None:
        """The credential a request would carry now (renewed when due), for what
        authenticates apart from this client: git over HTTPS, say."""
        if self.credentials is not None:
            return self.credentials.token()
        token, _wait = self.pool.choose()
        return token.value if token is not None else None

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        etag: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request, retrying what may succeed later; a matching `etag` gives a 304.
        `headers` (an `Authorization` of its own, say) go over the client's."""
        sent = dict(headers or {})
        if etag:
            sent["If-None-Match"] = etag
        attempt = waits = 0
        own_auth = "Authorization" in sent
        renewed = own_auth
        while True:
            token = self._wait_for_quota()
            if token is not None and not own_auth:
                if self.credentials is not None:
                    token.value = self.credentials.token()
                sent["Authorization"] = f"{self.auth_scheme} {token.value}"
            try:
                response = self.http.request(method, url, params=params, json=json, headers=sent)
            except httpx.TransportError as exc:
                attempt = self._retry_or_raise(attempt, f"{exc.__class__.__name__}: {exc}", url)
                continue
            self.stats.add("requests")
            if response.status_code == 401 and self.credentials is not None and not renewed:
                # Revoked or expired early: one retry with a freshly issued credential.
                renewed = True
                self.credentials.invalidate()
                continue
            self._record_quota(token, response)
            limited = self._limit_wait(response)
            if limited is not None and waits < self.retry.limit_waits:
                waits += 1
                self.stats.add("rate_limit_waits")
                self.sleep(limited + self.jitter())
                continue
            if response.status_code in TRANSIENT:
                attempt = self._retry_or_raise(attempt, f"HTTP {response.status_code}", url)
                continue
            return self._result(response)

    def pages(
        self, url: str, params: Mapping[str, Any] | None = None, *, etag: str | None = None
    ) -> Iterator[Response]:
        """Each page of a Link-paginated list; a 304 for the first page ends it there."""
        response = self.request("GET", url, params=params, etag=etag)
        yield response
        while not response.not_modified and (following := response.links.get("next")):
            response = self.request("GET", following)
            yield response

    def _wait_for_quota(self) -> Token | None:
        token, wait = self.pool.choose()
        if wait > 0:
            self.stats.add("rate_limit_waits")
            self.sleep(wait + self.jitter())
        return token

    def _record_quota(self, token: Token | None, response: httpx.Response) -> None:
        remaining = response.headers.get(self.limits.remaining)
        reset = response.headers.get(self.limits.reset)
        if token is None or remaining is None or not remaining.isdigit():
            return
        token.remaining = int(remaining)
        if reset and reset.isdigit():
            token.reset = float(reset)
        lowest = self.pool.lowest_remaining()
        if lowest is not None:
            self.stats.counters["rate_limit_remaining"] = lowest

    def _limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait when the response is a rate-limit refusal, else None."""
        if response.status_code not in self.limit_statuses:
            return None
        retry_after = response.headers.get("retry-after", "")
        if retry_after.isdigit():
            return float(retry_after)
        if response.headers.get(self.limits.remaining) == "0":
            reset = response.headers.get(self.limits.reset, "")
            if reset.isdigit():
                return max(0.0, float(reset) - self.clock()) + 1.0
        if self.limit_hint is not None and (hint := self.limit_hint(response)) is not None:
            return hint
        return self.retry.backoff(0, self.jitter()) if response.status_code == 429 else None

    def _retry_or_raise(self, attempt: int, reason: str, url: str) -> int:
        if attempt + 1 >= self.retry.attempts:
            raise SourceError(
                f"{self._where(url)} failed after {attempt + 1} attempts: {reason}", url=url
            )
        self.stats.add("retries")
        self.sleep(self.retry.backoff(attempt, self.jitter()))
        return attempt + 1

    def _result(self, response: httpx.Response) -> Response:
        url = str(response.request.url)
        if response.status_code == 304:
            self.stats.add("not_modified")
            return Response(304, url, response.headers, None)
        if response.status_code >= 400:
            raise HttpError(
                f"{self._where(url)} answered {response.status_code}: {_message(response)}",
                status=response.status_code,
                url=url,
            )
        try:
            data = response.json() if response.content else None
        except ValueError as exc:
            raise SourceError(f"{self._where(url)} answered with invalid JSON", url=url) from exc
        return Response(
            response.status_code,
            url,
            response.headers,
            data,
            parse_links(response.headers.get("link")),
        )

    def _where(self, url: str) -> str:
        return str(self.http.base_url.join(url).copy_with(query=None))


def _message(response: httpx.Response) -> str:
    """The provider's own one-line explanation, when it gives one."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "error"
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"].splitlines()[0] if body["message"] else "error"
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = errors[0].get("message")  # GraphQL's errors, for a refused query
        if isinstance(message, str) and message:
            return message.splitlines()[0]
    return response.reason_phrase or "error"

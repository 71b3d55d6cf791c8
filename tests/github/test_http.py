"""The shared HTTP client against the fake GitHub: retries, rate limits, token pool, ETags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from github_support import Sleeper

from diogen.connectors.github.client import secondary_limit
from diogen.connectors.http import HttpClient, HttpError, RetryPolicy, parse_links
from diogen.errors import SourceError
from diogen.testing.fake_github import FakeGitHub


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server(shared_data: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(shared_data, tokens={"a": 5000, "b": 5000}) as fake:
        fake.add(fake.examples.repository("octo/app", pull_requests=7))
        yield fake


def client(fake: FakeGitHub, sleep: Sleeper, **options: object) -> HttpClient:
    options.setdefault("tokens", ["a"])
    return HttpClient(
        fake.url + "/",
        sleep=sleep,
        jitter=lambda: 0.5,
        limit_hint=secondary_limit,
        **options,  # type: ignore[arg-type]
    )


def test_link_pagination_honours_page_size(server: FakeGitHub) -> None:
    http = client(server, Sleeper())
    pages = list(http.pages("repos/octo/app/pulls", {"per_page": 3, "state": "all"}))
    assert [len(page.data) for page in pages] == [3, 3, 1]
    assert [pr["number"] for page in pages for pr in page.data] == [7, 6, 5, 4, 3, 2, 1]
    assert parse_links(pages[0].headers["link"])["last"].endswith("page=3")
    assert http.stats.counters["requests"] == 3
    assert http.stats.counters["rate_limit_remaining"] == 4997


def test_secondary_limit_waits_retry_after(server: FakeGitHub) -> None:
    sleep = Sleeper()
    server.fail(r"/pulls$", 403, times=2, retry_after=17)
    server.fail(r"/repos/octo/app$", 429, times=1)  # no header: GitHub says wait a minute
    http = client(server, sleep)
    assert len(http.request("GET", "repos/octo/app/pulls").data) == 7
    assert http.request("GET", "repos/octo/app").data["full_name"] == "octo/app"
    # retry-after plus jitter (0.5 here), twice; then the secondary-limit minute.
    assert sleep.waits == [17.5, 17.5, 60.5]
    assert http.stats.counters["rate_limit_waits"] == 3


def test_server_errors_and_timeouts_are_retried_with_backoff(server: FakeGitHub) -> None:
    sleep = Sleeper()
    server.fail(r"/repos/octo/app$", 502, times=2)
    server.fail(r"/tags$", 0, times=1, delay=0.5)
    http = client(server, sleep, timeout=0.2, retry=RetryPolicy(base_delay=2.0))
    assert http.request("GET", "repos/octo/app").status == 200
    assert http.request("GET", "repos/octo/app/tags").status == 200
    # 2 s then 4 s (a jitter of 0.5 keeps them exact), then 2 s after the timeout.
    assert sleep.waits == [2.0, 4.0, 2.0]
    assert http.stats.counters["retries"] == 3


def test_persistent_failure_gives_one_clear_error(server: FakeGitHub) -> None:
    server.fail(r"/repos/octo/app$", 503, times=10)
    http = client(server, Sleeper(), retry=RetryPolicy(attempts=3))
    with pytest.raises(SourceError, match=r"repos/octo/app failed after 3 attempts: HTTP 503"):
        http.request("GET", "repos/octo/app")


def test_client_errors_are_not_retried(server: FakeGitHub) -> None:
    sleep = Sleeper()
    http = client(server, sleep, tokens=["wrong"])
    with pytest.raises(HttpError, match="answered 401: Bad credentials") as raised:
        http.request("GET", "repos/octo/app")
    assert raised.value.status == 401 and sleep.waits == []
    with pytest.raises(HttpError, match="answered 404: Not Found"):
        client(server, sleep).request("GET", "repos/octo/missing")


def test_exhausted_quota_waits_for_reset(shared_data: Path) -> None:
    clock, sleep = Clock(1_700_000_000.0), Sleeper()
    with FakeGitHub(shared_data, tokens={"a": 2}, clock=clock) as fake:
        fake.add(fake.examples.repository("octo/app"))
        http = client(fake, sleep, clock=clock)
        http.request("GET", "repos/octo/app")
        http.request("GET", "repos/octo/app/tags")
        assert http.stats.counters["rate_limit_remaining"] == 0
        # The pool knows the token is spent: it waits for the reset before asking again.
        sleep_then_advance = Sleeper()

        def advance(seconds: float) -> None:
            sleep_then_advance(seconds)
            clock.now += seconds

        http.sleep = advance
        assert http.request("GET", "repos/octo/app").status == 200
    assert sleep_then_advance.waits == [3600.5]
    assert [r.status for r in fake.log] == [200, 200, 200]


def test_refused_for_quota_waits_until_reset(shared_data: Path) -> None:
    """A 403 with x-ratelimit-remaining: 0 (the pool had no header to go by)."""
    clock, waits = Clock(1_700_000_000.0), Sleeper()
    with FakeGitHub(shared_data, tokens={"a": 1}, clock=clock) as fake:
        fake.add(fake.examples.repository("octo/app"))
        other = client(fake, Sleeper(), clock=clock)
        other.request("GET", "repos/octo/app")  # another process spends the quota

        def advance(seconds: float) -> None:
            waits(seconds)
            clock.now += seconds

        http = client(fake, Sleeper(), clock=clock)
        http.sleep = advance
        assert http.request("GET", "repos/octo/app").status == 200
    assert waits.waits == [3601.5]  # until reset, plus a second, plus jitter
    assert [r.status for r in fake.log] == [200, 403, 200]


def test_token_pool_uses_the_token_with_most_quota(shared_data: Path) -> None:
    with FakeGitHub(shared_data, tokens={"a": 3, "b": 10}) as fake:
        fake.add(fake.examples.repository("octo/app"))
        http = client(fake, Sleeper(), tokens=["a", "b"])
        for _ in range(6):
            http.request("GET", "repos/octo/app")
    # Unknown quotas first (a, then b), then always the one with most left: b.
    assert [r.token for r in fake.log] == ["a", "b", "b", "b", "b", "b"]


def test_conditional_request_answers_304_for_free(server: FakeGitHub) -> None:
    http = client(server, Sleeper())
    first = http.request("GET", "repos/octo/app")
    again = http.request("GET", "repos/octo/app", etag=first.etag)
    assert again.not_modified and again.data is None
    assert http.stats.counters["not_modified"] == 1
    assert http.stats.counters["rate_limit_remaining"] == 4999  # the 304 cost nothing

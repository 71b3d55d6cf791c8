"""The analytics cache under concurrency: one computation per answer, and a pool that runs dry
answers 503 with Retry-After instead of failing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from api_support import World
from sqlalchemy import create_engine

from diogen.api.cache import MemoryCache, SingleFlight

V = "/api/v1"


def test_concurrent_misses_compute_once_and_share_the_result() -> None:
    flights, cache, release = SingleFlight(), MemoryCache(), threading.Event()
    computed, waited = [], []

    def compute() -> bytes:
        computed.append(1)
        release.wait(10)
        cache.set("k", b"answer", 60)
        return b"answer"

    def ask() -> bytes:
        return flights.run("k", compute, lambda: cache.get("k"), lambda: waited.append(1))

    with ThreadPoolExecutor(8) as pool:
        answers = [pool.submit(ask) for _ in range(8)]
        while len(computed) + len(waited) < 8:
            threading.Event().wait(0.01)
        release.set()
        assert [a.result(10) for a in answers] == [b"answer"] * 8
    assert (len(computed), len(waited)) == (1, 7)


def test_when_the_computation_fails_the_waiters_compute_for_themselves() -> None:
    flights, started, release = SingleFlight(), threading.Event(), threading.Event()

    def failing() -> bytes:
        started.set()
        release.wait(10)
        raise RuntimeError("the report failed")

    with ThreadPoolExecutor(2) as pool:
        leader = pool.submit(flights.run, "k", failing, lambda: None, lambda: None)
        started.wait(10)
        follower = pool.submit(flights.run, "k", lambda: b"own answer", lambda: None, release.set)
        with pytest.raises(RuntimeError):
            leader.result(10)
        assert follower.result(10) == b"own answer"


def test_different_reports_beyond_the_limit_queue_after_giving_their_resources_back() -> None:
    flights, release = SingleFlight(at_once=1), threading.Event()
    started, gave_back, order = threading.Event(), threading.Event(), []

    def first() -> bytes:
        started.set()
        release.wait(10)
        order.append("first")
        return b"1"

    def second() -> bytes:
        order.append("second")
        return b"2"

    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(flights.run, "a", first, lambda: None, lambda: None)
        started.wait(10)
        two = pool.submit(flights.run, "b", second, lambda: None, gave_back.set)
        assert gave_back.wait(10)  # it waits for a slot, its connection given back
        assert order == []
        release.set()
        assert (one.result(10), two.result(10)) == (b"1", b"2")
    assert order == ["first", "second"]


def test_a_pool_that_stays_busy_answers_503_with_retry_after(world: World) -> None:
    # One connection, held by the test: the request cannot get one within the pool timeout.
    engine = create_engine(world.engine.url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    world.state.engine = engine
    world.state.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            answer = world.get("alpha:viewer", f"{V}/analytics/dora?from=2024-02-01")
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["type"].endswith(":busy")
        assert world.get("alpha:viewer", f"{V}/analytics/dora?from=2024-02-01").status_code == 200
    finally:
        engine.dispose()

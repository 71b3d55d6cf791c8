"""The lean reads' lane (`diogen.api.lane`): a few at a time, in arrival order, and a request
that must compute a report gives its slot up first."""

from __future__ import annotations

import threading
import time
from functools import partial

import anyio
import anyio.from_thread
from api_support import World
from sqlalchemy.orm import Session

from diogen.api import reports
from diogen.api.lane import Lane
from diogen.api.recipes import quality_key
from diogen.metrics import Scope


def _run_six(lane: Lane) -> tuple[list[int], int]:
    """Six requests arriving in turn, each 30 ms long: the order they started in and the most
    that ran at once."""
    started: list[int] = []
    running, most = 0, 0
    lock = threading.Lock()

    def work(n: int) -> None:
        nonlocal running, most
        with lock:
            started.append(n)
            running += 1
            most = max(most, running)
        time.sleep(0.03)
        with lock:
            running -= 1

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for n in range(6):
                group.start_soon(lane.run, partial(work, n))
                await anyio.sleep(0.001)  # arrivals in this order

    anyio.run(main)
    return started, most


def test_two_at_a_time() -> None:
    _, most = _run_six(Lane(width=2))

    assert most == 2


def test_in_the_order_they_came() -> None:
    # One at a time: the order they start in is the order the lane let them in (with two,
    # two threads let in together may start in either order).
    started, most = _run_six(Lane(width=1))

    assert most == 1
    assert started == list(range(6))


def test_a_request_that_leaves_lets_the_next_one_in() -> None:
    lane = Lane(width=1)
    finished: list[str] = []
    quick_done = threading.Event()

    def long_work() -> None:
        lane.leave()
        assert quick_done.wait(5), "the quick request stayed behind the long one"
        finished.append("long")

    def quick_work() -> None:
        finished.append("quick")
        quick_done.set()

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(lane.run, long_work)
            await anyio.sleep(0.01)
            group.start_soon(lane.run, quick_work)

    anyio.run(main)

    assert finished == ["quick", "long"]
    assert lane.in_use() == 0


def test_a_report_computed_on_request_leaves_the_lane_and_one_found_does_not(
    world: World,
) -> None:
    state = world.state
    lane = Lane(width=1)
    key = quality_key(state.settings, Scope(org="alpha"))

    def ask() -> int:
        with Session(state.reader) as session:
            reports.entry(state, session, key, reports.data_version(session))
        return int(anyio.from_thread.run_sync(lane.in_use))

    def ask_in(target: Lane) -> int:
        async def main() -> int:
            return await target.run(ask)

        return anyio.run(main)

    state.lane = lane  # the lane `reports.entry` leaves
    assert reports.lookup(state, reports.digest_of(key, _version(world))) is None
    assert ask_in(lane) == 0  # computed: it left
    assert ask_in(lane) == 1  # found in the cache: it kept its slot to the end


def _version(world: World) -> str:
    with Session(world.state.reader) as session:
        return reports.data_version(session)

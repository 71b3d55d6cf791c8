"""Read many commits with their numstat, in parallel git processes over disjoint sets of shas.

`git log --numstat` spends its time diffing; each commit's diff is independent, so the shas
are split into contiguous runs (neighbours share objects, which keeps git's caches warm) and
each run is read by its own `git log --no-walk --stdin`. Queues are bounded, so memory stays
flat however long the history.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from diogen.connectors.git.log import LOG_ARGS, parse_log
from diogen.connectors.git.plumbing import stream_git

# Below this many commits a second process costs more than it saves.
PARALLEL_THRESHOLD = 2000
QUEUE_SIZE = 512
_DONE = object()


def log_commits(repo: Path, shas: list[str], jobs: int) -> Iterator[dict[str, Any]]:
    """Payloads of the commits `shas` (in no particular order), read by up to `jobs` gits."""
    if not shas:
        return
    if jobs == 1 or len(shas) < PARALLEL_THRESHOLD:
        yield from _read(repo, shas)
        return
    size = -(-len(shas) // jobs)
    runs = [shas[start : start + size] for start in range(0, len(shas), size)]
    yield from _read_parallel(repo, runs)


def _read(repo: Path, shas: list[str]) -> Iterator[dict[str, Any]]:
    return parse_log(stream_git(repo, [*LOG_ARGS, "--no-walk=unsorted", "--stdin"], shas))


def _read_parallel(repo: Path, runs: list[list[str]]) -> Iterator[dict[str, Any]]:
    results: queue.Queue[Any] = queue.Queue(QUEUE_SIZE)
    stop = threading.Event()
    workers = [
        threading.Thread(target=_worker, args=(repo, run, results, stop), daemon=True)
        for run in runs
    ]
    for worker in workers:
        worker.start()
    try:
        remaining = len(workers)
        while remaining:
            item = results.get()
            if item is _DONE:
                remaining -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def _worker(repo: Path, shas: list[str], results: queue.Queue[Any], stop: threading.Event) -> None:
    commits = _read(repo, shas)
    try:
        for payload in commits:
            if not _put(results, payload, stop):
                return
    except BaseException as exc:  # handed to the consumer, which re-raises it
        _put(results, exc, stop)
        return
    finally:
        commits.close()  # type: ignore[attr-defined]
    _put(results, _DONE, stop)


def _put(results: queue.Queue[Any], item: object, stop: threading.Event) -> bool:
    """Put unless the consumer has gone away; False when it has."""
    while not stop.is_set():
        try:
            results.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False

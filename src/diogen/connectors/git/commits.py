"""Read many commits with their numstat, in parallel git processes over disjoint sets of shas.

`git log --numstat` spends its time diffing; each commit's diff is independent, so the shas
are split into contiguous runs (neighbours share objects, which keeps git's caches warm) and
each run is read by its own `git log --no-walk --stdin`. Queues are bounded, so memory stays
flat however long the history.
"""

from __future__ import annotations

import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO, Any

from diogen.connectors.git.log import LOG_ARGS, parse_log
from diogen.connectors.git.plumbing import stream_git
from diogen.connectors.git.prepare import Chunk, ReaderSpec, prepare
from diogen.errors import SourceError

# Below this many commits a second process costs more than it saves.
PARALLEL_THRESHOLD = 2000
QUEUE_SIZE = 512
# Chunks of prepare.CHUNK_SIZE commits waiting for the sync: memory stays bounded.
PREPARED_QUEUE_SIZE = 8
_DONE = object()
READER = "from diogen.connectors.git.prepare import main; main()"


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
    yield from _gathered([partial(_worker, repo, run) for run in runs], QUEUE_SIZE)


Producer = Callable[["queue.Queue[Any]", threading.Event], None]


def _gathered(
    producers: list[Producer], size: int, on_stop: Callable[[], None] = lambda: None
) -> Iterator[Any]:
    """What the producers put, each in its own thread, until every one has put `_DONE`; a
    producer's exception is raised here. However the consumer stops, the producers are told
    (`stop`, then `on_stop`) and joined."""
    results: queue.Queue[Any] = queue.Queue(size)
    stop = threading.Event()
    threads = [threading.Thread(target=p, args=(results, stop), daemon=True) for p in producers]
    for thread in threads:
        thread.start()
    try:
        remaining = len(threads)
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
        on_stop()
        for thread in threads:
            thread.join()


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


def prepared_commits(spec: ReaderSpec, shas: list[str], jobs: int) -> Iterator[Chunk]:
    """Chunks of the commits `shas` (in no particular order), made ready to store by up to
    `jobs` reader processes, each with its own `git log`: reading, parsing, the ids and the
    bronze text of a commit hold the GIL, so in threads they would share one core."""
    if not shas:
        return
    if jobs == 1 or len(shas) < PARALLEL_THRESHOLD:
        yield from prepare(spec, shas)
        return
    size = -(-len(shas) // jobs)
    readers = [ReaderProcess(spec, shas[at : at + size]) for at in range(0, len(shas), size)]

    def stop_readers() -> None:
        for reader in readers:
            reader.stop()

    yield from _gathered([r.forward for r in readers], PREPARED_QUEUE_SIZE, stop_readers)


class ReaderProcess:
    """A reader process (`prepare.main`) over one run of shas."""

    def __init__(self, spec: ReaderSpec, shas: list[str]) -> None:
        # Not `-m`: what it pickles must name its module, not __main__. -P: the working
        # directory is not put on the reader's import path.
        command = [sys.executable, "-P", "-c", READER]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self.process.stdin is not None
        # From a thread: the pipe holds 64 KiB, and the reader reads its shas only once its
        # git has started.
        self._feeder = threading.Thread(
            target=_feed, args=(self.process.stdin, spec.header(), shas), daemon=True
        )
        self._feeder.start()

    def forward(self, results: queue.Queue[Any], stop: threading.Event) -> None:
        """Put the reader's chunks on `results`, then _DONE, or the exception that ended it."""
        try:
            for chunk in self._chunks():
                if not _put(results, chunk, stop):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _put(results, exc, stop)
            return
        _put(results, _DONE, stop)

    def _chunks(self) -> Iterator[Chunk]:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            try:
                kind, value = pickle.load(stdout)
            except EOFError:
                raise SourceError(self._death()) from None
            if kind == "chunk":
                yield value
            elif kind == "error":
                raise SourceError(value)
            else:
                return

    def _death(self) -> str:
        assert self.process.stderr is not None
        detail = self.process.stderr.read().decode("utf-8", "replace").strip().splitlines()
        code = self.process.wait()
        return f"git reader ended with status {code}" + (f": {detail[-1]}" if detail else "")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._feeder.join()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _feed(stdin: IO[bytes], header: str, shas: list[str]) -> None:
    try:
        stdin.write(f"{header}\n".encode())
        stdin.write("".join(f"{sha}\n" for sha in shas).encode())
        stdin.close()
    except (BrokenPipeError, ValueError):  # the reader has gone (or been stopped)
        return

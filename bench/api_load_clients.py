"""The load generators of bench/api_load.py, and the CPU time they and the server spend.

Two clients send the requests:

  * `wrk` (C, one thread, Debian's `wrk` package) for a scenario that asks one URL again and
    again: it takes a fraction of the CPU per request that a Python client takes, CPU which
    on a 2-core machine the server would otherwise not have;
  * asyncio + httpx (`python_load`) for the others (each request its own URL or body), and for
    all of them when wrk is not installed or `--client python` is given.

CPU is read from /proc (Linux): user + system time of the server's process tree, of the
PostgreSQL backends serving it (found by their application_name) and of the client. These
depend far less on what else the machine runs than latencies do.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

Request = Callable[[int, int], tuple[str, str, dict[str, object] | None]]
# wrk prints this line at the end of a run: requests, non-2xx/3xx answers, socket errors,
# duration (µs), p50 and p99 latency (µs).
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("diogen %d %d %d %d %d %d\\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Outcome:
    requests: int
    wall: float
    p50: float
    p99: float
    client_cpu: float


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk_load(base: str, key: str, clients: int, seconds: float, path: str) -> Outcome:
    """`clients` connections asking `path` for `seconds`; every answer must be a success."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_REPORT)
        script.flush()
        command = [
            "wrk",
            "-t1",
            f"-c{clients}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "60s",
            "-s",
            script.name,
            "-H",
            f"Authorization: Bearer {key}",
            base + path,
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(row for row in output.splitlines() if row.startswith("diogen "))
    requests, bad, broken, duration, p50, p99 = (int(n) for n in line.split()[1:])
    if bad or broken:
        raise SystemExit(f"GET {path}: {bad} error answers, {broken} socket errors\n{output}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Outcome(requests, duration / 1e6, p50 / 1e6, p99 / 1e6, cpu)


def python_load(base: str, key: str, clients: int, requests: int, make: Request) -> Outcome:
    """`clients` clients each sending `requests` requests, one after the other."""
    started, cpu = time.perf_counter(), _own_cpu()
    latencies = asyncio.run(_load(base, key, clients, requests, make))
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    p50 = ordered[len(ordered) // 2]
    return Outcome(len(ordered), wall, p50, p99, _own_cpu() - cpu)


async def _load(base: str, key: str, clients: int, requests: int, make: Request) -> list[float]:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    # Below the server's 5 s keep-alive: a connection the server is closing is never reused.
    limits = httpx.Limits(max_connections=clients, keepalive_expiry=2)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=900
    ) as client:

        async def one_client(c: int) -> None:
            for r in range(requests):
                method, url, body = make(c, r)
                started = time.perf_counter()
                try:
                    response = await client.request(method, url, json=body)
                except httpx.TransportError as exc:
                    raise SystemExit(f"{method} {url}: {exc!r}") from exc
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    raise SystemExit(f"{method} {url}: {response.status_code} {response.text}")

        await asyncio.gather(*(one_client(c) for c in range(clients)))
    return latencies


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants still running."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        found.append(current)
        pending.extend(int(child) for child in children)
    return found


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU time of each process still running."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def backends(engine: Engine | None, application_name: str) -> list[int]:
    """The PostgreSQL backends of the server's connections (PostgreSQL on this machine)."""
    if engine is None:
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": application_name},
        )
        return [int(pid) for (pid,) in rows]


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two readings; a process started in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def connections_by_process(pids: Iterable[int], port: int) -> list[int]:
    """How many connections to local `port` each of `pids` holds, most first (the server's
    workers: how the clients' keep-alive connections were spread)."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(f"socket:[{fields[9]}]")
    counts = []
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except FileNotFoundError:
            continue
        counts.append(sum(link in established for link in links))
    return sorted((n for n in counts if n), reverse=True)

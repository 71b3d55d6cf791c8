"""One figure of a running server's Prometheus text (/metrics), for the benchmarks."""

from __future__ import annotations

import urllib.request


def metric(url: str, name: str) -> float | None:
    """The value of the sample `name` (no labels) on the server at `url`; None when absent.
    With several workers it is already their sum (prometheus_client's multiprocess mode)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
    return None

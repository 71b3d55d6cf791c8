"""The reference that stored commit stats are checked against: `git log --numstat` itself.

Deliberately not Diogen's own parser (a byte-level reading of git's plain output), so that a
mistake in the ingest cannot confirm itself.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

Stats = tuple[int, int, int]


def numstat_totals(repo: Path) -> dict[str, Stats | None]:
    """sha → (additions, deletions, files) per `git log --all --numstat`; merges → None
    (git does not diff them); binary files count a file and 0 lines."""
    output = subprocess.run(
        ["git", "-C", str(repo), "log", "--all", "--numstat", "--format=%x01%H %P"],
        capture_output=True,
        check=True,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"},
    ).stdout
    totals: dict[str, list[int] | None] = {}
    current: list[int] | None = None
    for line in output.split(b"\n"):
        if line.startswith(b"\x01"):
            sha, *parents = line[1:].decode().split()
            current = totals[sha] = None if len(parents) > 1 else [0, 0, 0]
        elif line and current is not None:
            added, deleted, _ = line.split(b"\t", 2)  # "-" for a binary file
            current[0] += int(added) if added != b"-" else 0
            current[1] += int(deleted) if deleted != b"-" else 0
            current[2] += 1
    return {
        sha: None if stats is None else (stats[0], stats[1], stats[2])
        for sha, stats in totals.items()
    }

"""Hold a process to a fixed share of one CPU, through a cgroup of its own (Linux, as root).

On a machine with as many cores as the pipeline has processes, worker scale-out shows as the
rate rising with workers. On two cores shared by the workers, PostgreSQL and the broker it
cannot: the services take what the workers leave. Capping each worker at, say, 0.4 of a core
makes the worker the bottleneck while the services keep spare CPU, so that the rate of two
capped workers against one says whether the pipeline scales, not whether the machine has room.

cgroup v2 (`cpu.max`) where its cpu controller is enabled at /sys/fs/cgroup, otherwise v1
(`cpu.cfs_quota_us`) at /sys/fs/cgroup/cpu.
"""

from __future__ import annotations

import os
from pathlib import Path

PERIOD_US = 100_000
V2_ROOT = Path("/sys/fs/cgroup")
V1_ROOT = Path("/sys/fs/cgroup/cpu")


class QuotaUnavailable(RuntimeError):
    """No writable cgroup cpu controller here (not Linux, not root, or a container without it)."""


def _root() -> tuple[Path, bool]:
    controllers = V2_ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return V2_ROOT, True
    if (V1_ROOT / "cpu.cfs_quota_us").exists():
        return V1_ROOT, False
    raise QuotaUnavailable("no cgroup cpu controller at /sys/fs/cgroup (Linux only)")


def confine(pid: int, share: float, name: str) -> Path:
    """Move `pid` (all its threads, and what it starts later) into a new cgroup `name` that may
    use `share` of one CPU per period; returns the cgroup's directory for `release`."""
    if not 0 < share <= os.cpu_count():  # type: ignore[operator]
        raise ValueError(f"a CPU share must be in (0, {os.cpu_count()}], not {share}")
    root, unified = _root()
    group = root / name
    quota = int(share * PERIOD_US)
    try:
        group.mkdir(exist_ok=True)
        if unified:
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        (group / "cgroup.procs").write_text(str(pid))
    except PermissionError as e:
        raise QuotaUnavailable(f"cannot write {group}: run as root") from e
    return group


def throttled_seconds(group: Path) -> float:
    """How long the group's processes were held back by the quota, in all."""
    fields = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
    if "throttled_usec" in fields:
        return int(fields["throttled_usec"]) / 1e6
    return int(fields.get("throttled_time", 0)) / 1e9


def release(group: Path) -> None:
    """Remove a cgroup whose processes have all exited."""
    group.rmdir()

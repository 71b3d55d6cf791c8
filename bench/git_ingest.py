"""Git ingest benchmark: `diogen sync git` against `git log --numstat` on the same history.

    .venv/bin/python bench/git_ingest.py [REPO] [--runs 3] [--commits 30000] [--jobs 2]

Without REPO a realistic synthetic repository of --commits commits is generated (once) under
bench/.work/ and repacked the way a clone is. Each run times, in this order:

  * one `git log --numstat --all` (the floor for a single process),
  * two `git log --numstat --no-walk=unsorted --stdin` over disjoint halves of the commits, in
    parallel (what two cores can do at best with git alone),
  * a full `diogen sync git` into a fresh SQLite file, as a subprocess: wall time, CPU time and
    peak memory (the whole process tree: Python and its git children),
  * a re-sync of the unchanged repository (a second `diogen sync git`, process start included).

It prints medians over the runs, checks that the stored per-commit stats equal
`git log --numstat`, and (for synthetic histories) compares peak memory for two history sizes.
Nothing here asserts on time: it measures and reports.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from diogen.testing.numstat import numstat_totals
from diogen.testing.synthetic import generate_repository

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
DIOGEN = Path(sys.executable).with_name("diogen")  # the CLI next to this interpreter
GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
POLL_SECONDS = 0.01  # how often the end of a sync is looked for
SAMPLE_EVERY = 5  # polls between two memory samples (reading smaps costs a little CPU)


@dataclass
class Measured:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process and the children it waited for
    largest_kb: int  # peak RSS of the largest single process (ru_maxrss: Python or one git)
    tree_kb: int = 0  # peak of the summed PSS of the whole process tree, sampled
    python_kb: int = 0  # peak RSS of the diogen process itself
    git_kb: int = 0  # peak RSS of its largest git child
    output: str = ""


def main() -> None:
    args = parse_args()
    WORK.mkdir(exist_ok=True)
    repo = Path(args.repo).resolve() if args.repo else synthetic(args.commits, args.seed)
    describe(repo)
    git("log", "--numstat", "--all", repo=repo, stdout=subprocess.DEVNULL)  # warm the page cache
    shas = git("rev-list", "--all", repo=repo).split()
    runs: dict[str, list[Measured]] = {"git": [], "git2": [], "sync": [], "resync": []}
    database = WORK / "bench.db"
    for run in range(1, args.runs + 1):
        runs["git"].append(timed(["git", "-C", str(repo), "log", "--numstat", "--all"]))
        runs["git2"].append(git_halves(repo, shas))
        runs["sync"].append(sync(repo, database, args.jobs, fresh=True))
        runs["resync"].append(sync(repo, database, args.jobs, fresh=False))
        print(
            f"run {run}: git log {runs['git'][-1].wall:.2f} s, 2 x git log "
            f"{runs['git2'][-1].wall:.2f} s, sync {runs['sync'][-1].wall:.2f} s, "
            f"re-sync {runs['resync'][-1].wall:.2f} s (load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    report(runs, len(shas))
    print(f"  diogen says: {runs['sync'][-1].output}")
    mismatches = check_stats(repo, database)
    print(
        f"stats match git log --numstat: {'yes' if not mismatches else 'no'} "
        f"({mismatches} mismatches over {len(shas)} commits)"
    )
    if args.memory_sizes is None:  # by default only next to a synthetic history
        args.memory_sizes = "" if args.repo else f"5000,{args.commits}"
    sizes = [int(size) for size in args.memory_sizes.split(",") if size]
    if sizes:
        memory_flatness(sizes, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("repo", nargs="?", help="a git repository (default: a synthetic one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commits", type=int, default=30_000, help="size of the synthetic history")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic history")
    parser.add_argument("--jobs", type=int, default=2, help="`diogen sync git --jobs`")
    parser.add_argument(
        "--memory-sizes",
        metavar="N,N",
        help="synthetic history sizes whose peak memory is compared; '' skips "
        "(default: 5000,COMMITS without REPO, none with one)",
    )
    return parser.parse_args()


def synthetic(commits: int, seed: int) -> Path:
    """The synthetic repository for these parameters, generated on first use."""
    path = WORK / f"synthetic-{commits}-seed{seed}"
    done = path / ".git" / "diogen-bench-complete"
    if not done.exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating {commits} commits into {path} ...", flush=True)
        started = time.perf_counter()
        generate_repository(path, commits=commits, seed=seed)
        # fast-import deltifies against the previous object only: repack as a clone would be
        git("repack", "-adfq", repo=path)
        done.write_text(f"{commits} {seed}\n")
        print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def describe(repo: Path) -> None:
    commits = git("rev-list", "--all", "--count", repo=repo).strip()
    merges = git("rev-list", "--all", "--merges", "--count", repo=repo).strip()
    head = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "HEAD"],
        capture_output=True,
        env=GIT_ENV,
    )
    files = len(head.stdout.splitlines())
    tags = len(git("tag", repo=repo).splitlines())
    objects = dict(line.split(": ") for line in git("count-objects", "-v", repo=repo).splitlines())
    print(
        f"repository: {repo}\n  {commits} commits ({merges} merges), {files} files at HEAD, "
        f"{tags} tags, {int(objects['size-pack']) / 1024:.0f} MiB packed"
    )
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}, {git('version', repo=repo).strip()}, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def git(*args: str, repo: Path, stdout: int = subprocess.PIPE) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], stdout=stdout, check=True, env=GIT_ENV)
    return result.stdout.decode() if result.stdout else ""


def timed(command: list[str]) -> Measured:
    """Run `command` with its output read by /dev/null (git does the same work: it does not
    look at where its output goes) and return its wall and CPU time."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=GIT_ENV)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        sys.exit(f"failed: {' '.join(command)}")
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def git_halves(repo: Path, shas: list[str]) -> Measured:
    """Two `git log --numstat` processes in parallel, each over half of the commits."""
    half = len(shas) // 2
    started = time.perf_counter()
    processes = []
    for part in (shas[:half], shas[half:]):
        if not part:  # `git log --stdin` with no input would show HEAD
            continue
        process = subprocess.Popen(
            ["git", "-C", str(repo), "log", "--numstat", "--no-walk=unsorted", "--stdin"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=GIT_ENV,
        )
        assert process.stdin is not None
        process.stdin.write("".join(f"{sha}\n" for sha in part).encode())
        process.stdin.close()
        processes.append(process)
    cpu, largest = 0.0, 0
    for process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        largest = max(largest, usage.ru_maxrss)
    return Measured(time.perf_counter() - started, cpu, largest)


def sync(repo: Path, database: Path, jobs: int, *, fresh: bool) -> Measured:
    if fresh:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    command = [
        str(DIOGEN),
        "sync",
        "git",
        str(repo),
        "--name",
        "bench",
        "--database",
        f"sqlite:///{database}",
        "--jobs",
        str(jobs),
    ]
    log = WORK / "sync.log"
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=WORK)
        peaks = Measured(0, 0, 0)
        for poll in itertools.count():  # sample the tree's memory until the process ends
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if poll % SAMPLE_EVERY == 0:
                sample_memory(process.pid, peaks)
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text().strip()
    if process.returncode:
        sys.exit(f"diogen sync git failed ({process.returncode}):\n{output}")
    return Measured(
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss,
        peaks.tree_kb,
        peaks.python_kb,
        peaks.git_kb,
        output.splitlines()[-1] if output else "",
    )


def sample_memory(root: int, peaks: Measured) -> None:
    """Raise `peaks` to the memory `root` and its descendants use now. The tree's total is a
    sum of PSS, which counts the pages git maps from the pack once, not once per process."""
    tree, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            tree += proc_kb(pid, "smaps_rollup", "Pss:")
            peak = proc_kb(pid, "status", "VmHWM:")
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, ValueError):  # it has just ended
            continue
        if pid == root:
            peaks.python_kb = max(peaks.python_kb, peak)
        else:
            peaks.git_kb = max(peaks.git_kb, peak)
    peaks.tree_kb = max(peaks.tree_kb, tree)


def proc_kb(pid: int, name: str, field: str) -> int:
    for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def report(runs: dict[str, list[Measured]], commits: int) -> None:
    def median(name: str, field: str) -> float:
        return float(statistics.median(getattr(m, field) for m in runs[name]))

    def mib(name: str, field: str) -> str:
        return f"{median(name, field) / 1024:.0f} MiB"

    ours, floor, halves = median("sync", "wall"), median("git", "wall"), median("git2", "wall")
    print(f"\nmedians over {len(runs['sync'])} runs, {commits} commits:")
    for label, name, wall in (
        ("diogen sync git (fresh SQLite)", "sync", ours),
        ("git log --numstat --all", "git", floor),
        ("2 x git log --numstat (halves)", "git2", halves),
    ):
        print(
            f"  {label:31s} {wall:6.2f} s {commits / wall:7.0f} commits/s  "
            f"CPU {median(name, 'cpu'):5.1f} s"
        )
    pairs = zip(runs["sync"], runs["git"], strict=True)
    paired = statistics.median(mine.wall / theirs.wall for mine, theirs in pairs)
    print(
        f"  ratio ours / git log: {ours / floor:.2f} (median of the per-run ratios {paired:.2f});"
        f" ours / 2 x git log: {ours / halves:.2f}"
    )
    print(
        f"  peak memory of the sync: {mib('sync', 'tree_kb')} (PSS of the process tree); RSS of "
        f"diogen {mib('sync', 'python_kb')}, of its largest git {mib('sync', 'git_kb')} "
        f"(one git log --numstat --all alone: {mib('git', 'largest_kb')})"
    )
    print(
        f"  re-sync, unchanged: {median('resync', 'wall'):.2f} s, CPU "
        f"{median('resync', 'cpu'):.2f} s (the whole process; diogen says: "
        f"{runs['resync'][-1].output})"
    )


def check_stats(repo: Path, database: Path) -> int:
    """Commits whose stored additions / deletions / files differ from `git log --numstat`."""
    expected = numstat_totals(repo)
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT sha, additions, deletions, files_changed FROM git_commit")
        stored = {
            sha: None if added is None else (added, deleted, files)
            for sha, added, deleted, files in rows
        }
    wrong = sum(1 for sha, stats in expected.items() if sha not in stored or stored[sha] != stats)
    return wrong + len(stored.keys() - expected.keys())


def memory_flatness(sizes: list[int], args: argparse.Namespace) -> None:
    print("\npeak memory against history size (synthetic histories, one sync each):")
    for size in sizes:
        repo = synthetic(size, args.seed)
        measured = sync(repo, WORK / f"memory-{size}.db", args.jobs, fresh=True)
        print(
            f"  {size:6d} commits: {measured.tree_kb / 1024:4.0f} MiB process tree (PSS), "
            f"diogen {measured.python_kb / 1024:4.0f} MiB, largest git "
            f"{measured.git_kb / 1024:4.0f} MiB (RSS); {measured.wall:.1f} s"
        )


if __name__ == "__main__":
    main()

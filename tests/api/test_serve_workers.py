"""`diogen serve --workers 2`: /metrics answers for every worker (prometheus_client
multiprocess mode), whichever worker serves the scrape."""

from __future__ import annotations

import gc
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from test_cli import DIOGEN, _wait_until_up, free_port

from diogen.api import app as app_module

HEALTH_COUNT = re.compile(
    r'^diogen_http_request_duration_seconds_count\{method="GET",route="/health",status="200"\} '
    r"(\d+(?:\.\d+)?)$",
    re.M,
)
MAX_REQUESTS = 400


def _pids(directory: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[-1] for path in directory.glob("histogram_*.db")}


def _health_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = HEALTH_COUNT.search(text)
    assert found, text
    return float(found.group(1))


def _serve_two_workers(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[str], str]:
    """`diogen serve --workers 2` on a fresh SQLite file, and its base URL once it is up."""
    port = free_port()
    database = f"sqlite:///{tmp_path / 'diogen.db'}"
    server = subprocess.Popen(
        [*DIOGEN, "serve", "--workers", "2", "--port", str(port), "--database", database],
        cwd=tmp_path,
        env={"HOME": str(Path.home()), "PATH": os.environ["PATH"], **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, server)
    except BaseException:
        server.kill()
        server.communicate(timeout=30)
        raise
    return server, base


@pytest.mark.slow
def test_metrics_add_up_every_worker(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    # Its /health requests while starting count too: start from /metrics.
    server, base = _serve_two_workers(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(directory))
    try:
        sent = int(_health_count(base))
        # A new connection per request: the kernel hands each to either worker.
        while len(_pids(directory)) < 2 and sent < MAX_REQUESTS:
            assert httpx.get(f"{base}/health", timeout=10).status_code == 200
            sent += 1
        counts = [_health_count(base) for _ in range(6)]
    finally:
        server.terminate()
        server.communicate(timeout=30)

    assert len(_pids(directory)) == 2, "both workers answered requests"
    assert counts == [float(sent)] * 6


def _workers(pid: int) -> set[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    children = {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    return {c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}


@pytest.mark.slow
def test_a_worker_slow_to_answer_its_health_ping_is_not_killed(tmp_path: Path) -> None:
    # A worker busy for longer than uvicorn's default 5 s (frozen here with SIGSTOP) used to be
    # killed and replaced by the supervisor, dropping every request it was serving.
    server, base = _serve_two_workers(tmp_path)
    try:
        deadline = time.monotonic() + 30
        while len(workers := _workers(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        frozen = min(workers)
        os.kill(frozen, signal.SIGSTOP)
        time.sleep(8)
        assert frozen in _workers(server.pid), "the frozen worker was killed and replaced"
        os.kill(frozen, signal.SIGCONT)
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_a_server_process_freezes_its_startup_heap_out_of_the_collector(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What a worker holds from its start never becomes garbage: frozen, a full collection
    skips it instead of walking it (90-340 ms under load, answering nothing meanwhile)."""
    monkeypatch.setenv("DIOGEN_DATABASE_URL", f"sqlite:///{tmp_path / 'diogen.db'}")
    monkeypatch.setattr(app_module, "configure_json_logging", lambda _level: None)
    try:
        app_module.app_from_environment()
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()

    assert frozen > 10_000

"""`diogen serve --workers 2`: /metrics answers for every worker (prometheus_client
multiprocess mode), whichever worker serves the scrape."""

from __future__ import annotations

import gc
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from test_cli import DIOGEN, _wait_until_up, free_port, run

from diogen.api import app as app_module

HEALTH_COUNT = re.compile(
    r'^diogen_http_request_duration_seconds_count\{method="GET",route="/health",status="200"\} '
    r"(\d+(?:\.\d+)?)$",
    re.M,
)
MAX_REQUESTS = 400
LISTEN, ESTABLISHED = "0A", "01"
CONNECTIONS = 40


def _pids(directory: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[-1] for path in directory.glob("histogram_*.db")}


def _health_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = HEALTH_COUNT.search(text)
    assert found, text
    return float(found.group(1))


def _serve_two_workers(
    tmp_path: Path, port: int | None = None, **env: str
) -> tuple[subprocess.Popen[str], str]:
    """`diogen serve --workers 2` on a fresh SQLite file, and its base URL once it is up."""
    port = port or free_port()
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
        # A /metrics answered 500 once in CI, its cause not seen: the log shows it next time.
        print(server.communicate(timeout=30)[1])

    assert len(_pids(directory)) == 2, "both workers answered requests"
    assert counts == [float(sent)] * 6


def _workers(pid: int) -> set[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    children = {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    return {c for c in children if b"spawn_main" in _read(Path(f"/proc/{c}/cmdline"))}


def _read(path: Path) -> bytes:
    """A file of /proc, empty when its process has gone."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


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


@pytest.mark.slow
def test_workers_end_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    # Killed with SIGKILL, the supervisor cannot stop its workers: they kept serving the port.
    port = free_port()
    server, base = _serve_two_workers(tmp_path, port)
    workers = set(_listening(server, port))
    try:
        os.kill(server.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (alive := {pid for pid in workers if _alive(pid)}) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        print(server.communicate(timeout=30)[1])  # the server's log, shown if this fails

    assert not alive, "the workers outlived their supervisor"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/health", timeout=5)


def _alive(pid: int) -> bool:
    """Running, not a zombie left for a parent that does not reap it."""
    stat = _read(Path(f"/proc/{pid}/stat"))
    return bool(stat) and stat.rsplit(b")", 1)[1].split()[0] != b"Z"


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


def _tcp(port: int, state: str) -> list[tuple[int, int]]:
    """The IPv4 sockets of this machine on local `port` in `state`: each one's remote port and
    inode (/proc/net/tcp: addresses as hex "address:port", the state in hex)."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.append((int(fields[2].split(":")[1], 16), int(fields[9])))
    return found


def _inodes(pid: int) -> set[int]:
    """The sockets `pid` holds open."""
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except FileNotFoundError:  # gone
        return set()
    return {int(link[8:-1]) for link in links if link.startswith("socket:[")}


def _listening(server: subprocess.Popen[str], port: int) -> dict[int, set[int]]:
    """Each worker's listening sockets on `port`, once both workers listen."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listeners = {inode for _remote, inode in _tcp(port, LISTEN)}
        held = {pid: _inodes(pid) & listeners for pid in _workers(server.pid)}
        if len(held) == 2 and all(held.values()):
            return held
        time.sleep(0.2)
    raise AssertionError("two workers did not listen within 60 s")


def _holders(server: subprocess.Popen[str], port: int) -> list[int]:
    """The worker that accepted each of CONNECTIONS keep-alive connections opened at once,
    as a client like wrk opens them, each answered once."""
    clients = [socket.create_connection(("127.0.0.1", port), 60) for _ in range(CONNECTIONS)]
    try:
        for client in clients:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        return [_holder(server, port, client) for client in clients]
    finally:
        for client in clients:
            client.close()


def _holder(server: subprocess.Popen[str], port: int, client: socket.socket) -> int:
    """The worker holding `client`'s connection, looked up as soon as it answers: a worker
    starting meanwhile can keep others waiting past their keep-alive time (then closed)."""
    assert client.recv(65536).startswith(b"HTTP/1.1 200")
    accepted = dict(_tcp(port, ESTABLISHED))[client.getsockname()[1]]
    (worker,) = (pid for pid in _workers(server.pid) if accepted in _inodes(pid))
    return worker


@pytest.mark.slow
def test_connections_are_spread_over_workers_each_on_a_socket_of_its_own(
    tmp_path: Path,
) -> None:
    # With one socket shared by the workers, whichever woke first accepted the connections
    # waiting, and a keep-alive connection stays where it landed: 46 of 50 on one worker.
    port = free_port()
    server, _base = _serve_two_workers(tmp_path, port)
    try:
        listening = _listening(server, port)
        holders = _holders(server, port)
    finally:
        server.terminate()
        server.communicate(timeout=30)

    first, second = listening.values()
    assert len(first) == len(second) == 1 and first != second
    # Linux hashes each connection to a socket: fewer than 6 of 40 on either of two has a
    # probability of about 1.4e-6.
    assert min(holders.count(pid) for pid in listening) >= 6, holders
    assert server.returncode == 0, "SIGTERM stops the server cleanly"


@pytest.mark.slow
def test_a_killed_worker_is_replaced_on_its_socket(tmp_path: Path) -> None:
    port = free_port()
    server, _base = _serve_two_workers(tmp_path, port)
    try:
        before = _listening(server, port)
        # Both serving: a worker killed while starting is seen dead only after the health
        # ping that was waiting for it times out (uvicorn's supervisor: 120 s here).
        assert set(_holders(server, port)) == set(before)
        killed = min(before)
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while killed in (after := _listening(server, port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        holders = set(_holders(server, port))
    finally:
        server.terminate()
        print(server.communicate(timeout=30)[1])  # the server's log, shown if this fails

    assert killed not in after
    assert set().union(*after.values()) == set().union(*before.values()), "the same sockets"
    assert holders == set(after), "both workers answer"


def test_serve_fails_clearly_when_its_address_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run("serve", "--workers", "2", "--port", port, cwd=tmp_path)

    assert result.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in result.stderr

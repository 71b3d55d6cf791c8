"""`diogen serve --workers N`: uvicorn's supervisor, with a listening socket per worker.

uvicorn's own multi-worker mode binds one socket that every worker accepts from: whichever
wakes first takes every connection waiting, and a keep-alive connection stays where it landed
(50 clients were seen split 46/4 to 21/29), so one worker is crowded while another idles. Here
each worker listens on a socket of its own, all bound to the same address with SO_REUSEPORT:
Linux hands each new connection to one of them by a hash of its addresses and ports: evenly
on average, not exactly (50 connections on 2 workers: 25 each, give or take 3.5). The price:
a new connection waits for the worker it was hashed to, even when that one is busy and
another idle.

The sockets are the supervisor's, one per worker, kept for the server's life: a worker that
dies is replaced on its socket, and the connections hashed to it meanwhile wait there for the
new one (the seconds a worker takes to start; up to the health ping's 120 s when it dies while
a ping waits for it) instead of being reset, but no other worker serves them. Otherwise this
is uvicorn's supervisor: the health pings, a worker
failing to start stopping the server, SIGINT and SIGTERM, SIGHUP's rolling restart, SIGTTIN and
SIGTTOU adding and removing a worker. A worker ends by itself when the supervisor is gone
(`app.app_from_environment`): killed with SIGKILL, it could not stop them.
"""

from __future__ import annotations

import logging
import socket
import sys

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from diogen.errors import DiogenError

logger = logging.getLogger(__name__)


class Supervisor(Multiprocess):
    def __init__(self, config: Config) -> None:
        super().__init__(config, sockets=[])
        self.failed = False
        _check_free(config.host, config.port)
        self.listeners = [_listener(config.host, config.port) for _ in range(config.workers)]

    def _start(self, slot: int) -> Process:
        process = Process(self.config, [self.listeners[slot]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._start(slot) for slot in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for slot, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung: no answer to the health ping
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # It would fail the same way again: the app, the database or the settings.
                logger.error("worker %s failed to start: stopping the server", process.pid)
                self.failed = True
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.warning(
                "worker %s died (exit code %s): starting another", process.pid, process.exitcode
            )
            self.processes[slot] = self._start(slot)

    def restart_all(self) -> None:
        """Each worker replaced in turn, the new one serving its socket before the old stops."""
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._start(slot)
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                if not self.should_exit.is_set():
                    logger.error("worker %s not ready in time: restart abandoned", new.pid)
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def handle_ttin(self) -> None:
        logger.info("SIGTTIN: one more worker")
        self.listeners.append(_listener(self.config.host, self.config.port))
        self.processes_num += 1
        self.processes.append(self._start(self.processes_num - 1))

    def handle_ttou(self) -> None:
        if self.processes_num <= 1:
            logger.info("SIGTTOU: already one worker")
            return
        logger.info("SIGTTOU: one worker less")
        self.processes_num -= 1
        process = self.processes.pop()
        process.terminate()
        process.join()
        self.listeners.pop().close()

    def run(self) -> None:
        try:
            super().run()
        finally:
            for listener in self.listeners:
                listener.close()
        if self.failed:
            raise DiogenError("a worker failed to start (see its log above)")


def supervisor(config: Config) -> Multiprocess:
    """Ours on Linux, which spreads connections over sockets sharing a port; elsewhere uvicorn's
    one shared socket (macOS and the BSDs give a port's connections to one of its
    SO_REUSEPORT sockets, Windows has no such option)."""
    if sys.platform == "linux":
        return Supervisor(config)
    return Multiprocess(config, sockets=[config.bind_socket()])


def _check_free(host: str, port: int) -> None:
    """Fail as a single socket would if the address is taken, even by sockets with
    SO_REUSEPORT: another server of the same user would otherwise silently share it."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise DiogenError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _listener(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET

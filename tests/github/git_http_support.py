"""A git smart-HTTP server on 127.0.0.1 that asks for a password, as GitHub does for a private
repository: `git http-backend` behind a check of the `Authorization` header."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


def _handler(root: Path, expected: str, seen: list[str | None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            seen.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._backend(body)

        def _backend(self, body: bytes) -> None:
            target = urlsplit(self.path)
            env = {
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": target.path,
                "QUERY_STRING": target.query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "REMOTE_ADDR": "127.0.0.1",
            }
            done = subprocess.run(
                ["git", "http-backend"], input=body, capture_output=True, env=env, check=True
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            status = next((int(h.split()[1]) for h in lines if h.startswith("Status:")), 200)
            self.send_response(status)
            for line in lines:
                name, _, value = line.partition(": ")
                if name != "Status":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def private_git_server(root: Path, expected: str) -> Iterator[tuple[str, list[str | None]]]:
    """Serve the bare repositories under `root` to requests whose `Authorization` header is
    `expected`; yields the base URL and every `Authorization` header received."""
    seen: list[str | None] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, expected, seen))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()

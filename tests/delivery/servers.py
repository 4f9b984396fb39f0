"""Destination systems for the relay's tests: real HTTP and TCP servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing of a sender that went away mid-answer: the tests kill senders."""


class Destination:
    """An HTTP destination that applies each Idempotency-Key once, as a careful system does.

    The first request under a key is applied (counted in `applied`, its path and body kept in
    `bodies`); a later one under the same key is answered 409. `delay_seconds` holds every
    answer; `gate`, when set to an Event, holds the first request's answer until it is set,
    and `gated_status` is that answer. `status`, `headers` and `answer` (the body) are the
    answer otherwise. `on_request`, if set, is called with each request's key before it is
    answered (a test's hook: to kill the sender while it waits). `port` binds a given port (a
    destination that comes back where it was).
    """

    def __init__(self, port: int = 0) -> None:
        self.status = 202
        self.headers: dict[str, str] = {}
        self.answer = b""
        self.delay_seconds = 0.0
        self.gate: threading.Event | None = None
        self.gated_status = 202
        self.applied: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()
        self.order: list[str] = []  # keys in the order they were applied
        self.bodies: list[bytes] = []
        self.requests = 0
        self.on_request: Callable[[str], None] | None = None
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, key: str, body: bytes) -> tuple[int, threading.Event | None]:
        with self._lock:
            self.requests += 1
            first_request = self.requests == 1
            if self.status >= 300 and not (first_request and self.gate is not None):
                return self.status, None
            if self.applied[key]:
                self.duplicates[key] += 1
                return 409, None
            self.applied[key] += 1
            self.order.append(key)
            self.bodies.append(body)
            if first_request and self.gate is not None:
                return self.gated_status, self.gate
            return self.status, None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        destination = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                key = self.headers.get("Idempotency-Key", "")
                if destination.on_request is not None:
                    destination.on_request(key)
                status, gate = destination._answer(key, body)
                if gate is not None:
                    gate.wait(30)
                if destination.delay_seconds:
                    time.sleep(destination.delay_seconds)
                self.send_response(status)
                for name, value in destination.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(destination.answer)))
                self.end_headers()
                self.wfile.write(destination.answer)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

        return Handler


class Hang:
    """A TCP server that accepts connections and never answers, as a wedged system does."""

    def __init__(self) -> None:
        self.connections = 0
        self._held: list[socket.socket] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(connection)

    def stop(self) -> None:
        self._stop.set()
        for connection in self._held:
            connection.close()
        self._sock.close()

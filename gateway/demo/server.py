"""Serve the gateway from a thread on 127.0.0.1 (for the demo and the tests)."""

from __future__ import annotations

import socket
import threading
import time

from gateway.api import server
from gateway.api.app import create_app
from gateway.runtime import Runtime


class ServedGateway:
    """The HTTP API of a runtime on a free local port, relay running, until stopped.

    Served with the options `gateway serve` uses (gateway/api/server.py), limits included.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server = server.ReadyServer(server.config(create_app(runtime), runtime.settings))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="gateway-http"
        )

    def start(self) -> ServedGateway:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving; the lifespan stops the relay and closes the database."""
        self._server.should_exit = True
        self._thread.join(timeout=15)

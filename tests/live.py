"""A real gateway on 127.0.0.1 for tests: uvicorn in a thread, on a free port."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from gateway.api.app import create_app
from gateway.config import Settings
from gateway.runtime import Runtime


@dataclass
class LiveGateway:
    settings: Settings
    runtime: Runtime = field(init=False)
    url: str = field(init=False)
    _server: uvicorn.Server = field(init=False)
    _thread: threading.Thread = field(init=False)

    def start(self) -> LiveGateway:
        self.runtime = Runtime.build(self.settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(self.runtime), log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]})
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.resolved_admin_token()}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def register(self, **system: Any) -> str:
        """Register a system; return its credential."""
        with self.client() as client:
            response = client.post("/systems", json=system, headers=self.admin)
        assert response.status_code == 201, response.text
        return str(response.json()["credential"])

"""Stand-ins for destination systems: real HTTP servers on 127.0.0.1.

They stand for systems that cannot run here (a proGres instance, an OpenCRVS civil registry):
they receive what the gateway delivers, keep it in memory for inspection, and, for the civil
registry, answer a birth notification the way OpenCRVS does once a registrar has registered
the birth: by sending the registration back through the gateway.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StandIn:
    """A recording HTTP server; `status` is what it answers, `on_receive` runs after answering."""

    name: str
    port: int = 0
    status: int = 202
    received: list[Received] = field(default_factory=list)
    hits: int = 0  # every POST, duplicates and refusals included
    on_receive: Callable[[Received], None] | None = None
    _server: ThreadingHTTPServer | None = None
    _seen_keys: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", "0"))
                item = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                key = item.headers.get("Idempotency-Key", "")
                with standin._lock:  # requests arrive on concurrent threads
                    standin.hits += 1
                    duplicate = key in standin._seen_keys
                    if standin.status < 300 and not duplicate:
                        standin._seen_keys.add(key)
                        standin.received.append(item)
                self.send_response(standin.status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"duplicate": duplicate}).encode())
                if standin.status < 300 and not duplicate and standin.on_receive:
                    threading.Thread(target=standin.on_receive, args=(item,), daemon=True).start()

            def do_GET(self) -> None:  # noqa: N802
                body = json.dumps(
                    [{"path": r.path, "body": r.json()} for r in standin.received]
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: what arrives is personal data."""

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=self.name, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def registration_number() -> str:
    """Return a birth registration number in OpenCRVS's shape (year, digits, tracking id)."""
    return "2026" + str(uuid.uuid4().int)[:6] + uuid.uuid4().hex[:7].upper()

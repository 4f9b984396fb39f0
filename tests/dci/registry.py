"""A stand-in for a DCI civil registry: a real HTTP server on 127.0.0.1 speaking DCI CRVS v1.0.0.

It is not a registry, only what the gateway sees of one: it answers sync searches by BRN from
the records it holds (the Mockoon compliance mock's CRVS_Person, given a BRN and the child's
proGres id), acknowledges subscriptions as the Mockoon mock does, keeps the notify URL it was
given, and posts notices of registered live births there. `search_status` / `answer` make it
misbehave (a registry that is down, or answers nonsense).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dci"
MOCKOON = FIXTURES / "spdci-CRVS-Mockup-Compliance_mockoon-crvs.json"
LIVE_BIRTH = "spdci-common:RegistryEventType:LiveBirth"
BRN = "2023BIYCGRT"
PROGRES_ID = "KKM-25-001234"


def mockoon() -> dict[str, Any]:
    """Read the Mockoon mock, whose JSON has trailing commas."""
    text = re.sub(r",(\s*[}\]])", r"\1", MOCKOON.read_text("utf-8"))
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def route_body(endpoint: str) -> Any:
    """Return the body the Mockoon mock answers at one of its routes."""
    [route] = [r for r in mockoon()["routes"] if r["endpoint"] == endpoint]
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", route["responses"][0]["body"]))


def person(brn: str = BRN, progres_id: str | None = PROGRES_ID) -> dict[str, Any]:
    """Return the mock's CRVS_Person, identified by a BRN (and a proGres id)."""
    [found] = route_body("crvs/sync/search")["search_response"][0]["data"]["reg_records"]
    record: dict[str, Any] = copy.deepcopy(found)
    identifiers = [{"@type": "Identifier", "identifier_type": "BRN", "identifier_value": brn}]
    if progres_id:
        identifiers.append(
            {"@type": "Identifier", "identifier_type": "PROGRES_ID", "identifier_value": progres_id}
        )
    record["identifier"] = [record["identifier"], *identifiers]
    return record


def envelope(action: str, message: dict[str, Any]) -> dict[str, Any]:
    header = {
        "version": "1.0.0",
        "message_id": str(uuid.uuid4()),
        "message_ts": "2026-12-02T10:00:00+00:00",
        "action": action,
        "status": "succ",
        "total_count": 1,
        "completed_count": 1,
        "sender_id": "crvs",
        "receiver_id": "exchange-gateway",
    }
    return {"signature": "", "header": header, "message": message}


def search_answer(records: list[dict[str, Any]], status: str = "succ") -> dict[str, Any]:
    result = {
        "reference_id": "ref-1",
        "timestamp": "2026-12-02T10:00:00+00:00",
        "status": status,
        "data": {
            "version": "1.0.0",
            "reg_record_type": "spdci-extensions-dci:Person",
            "reg_records": records,
        },
    }
    return envelope(
        "on-search", {"transaction_id": "t-1", "correlation_id": "c-1", "search_response": [result]}
    )


def notice(record: dict[str, Any], event: str = LIVE_BIRTH) -> dict[str, Any]:
    """Return a DCI notify of one registered event."""
    item = {
        "reference_id": str(uuid.uuid4()),
        "timestamp": "2026-12-02T10:00:00+00:00",
        "data": {
            "version": "1.0.0",
            "reg_event_type": event,
            "reg_record_type": "spdci-extensions-dci:Person",
            "reg_records": record,
        },
        "locale": "eng",
    }
    return envelope("notify", {"transaction_id": str(uuid.uuid4()), "notify_event": [item]})


@dataclass
class Asked:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StandInDciRegistry:
    """A DCI civil registry's HTTP face on 127.0.0.1."""

    records: list[dict[str, Any]] = field(default_factory=lambda: [person()])
    search_status: int = 200
    answer: bytes | None = None  # answer every search with these bytes instead
    asked: list[Asked] = field(default_factory=list)
    notify_url: str | None = None
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the registry first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StandInDciRegistry:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                with registry._lock:
                    registry.asked.append(Asked(self.path, dict(self.headers.items()), body))
                if self.path == "/registry/sync/search":
                    self._search(body)
                elif self.path == "/registry/subscribe":
                    with registry._lock:
                        registry.notify_url = body["header"]["sender_uri"]
                    self._answer(200, json.dumps(route_body("crvs/subscribe")).encode())
                else:
                    self._answer(404, b'{"errors": [{"code": "not_found"}]}')

            def _search(self, body: Any) -> None:
                if registry.answer is not None or registry.search_status != 200:
                    self._answer(registry.search_status, registry.answer or b"{}")
                    return
                [request] = body["message"]["search_request"]
                query = request["search_criteria"]["query"]
                found = [
                    r
                    for r in registry.records
                    if {"identifier_type": query["type"], "identifier_value": query["value"]}
                    in [
                        {k: i[k] for k in ("identifier_type", "identifier_value")}
                        for i in r["identifier"]
                    ]
                ]
                self._answer(200, json.dumps(search_answer(found)).encode())

            def _answer(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: what is asked is personal data."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="dci-registry", daemon=True
        ).start()
        return self

    def notify(self, credential: str, body: Any) -> httpx.Response:
        """Post a notice to the URL the gateway subscribed with, as the registry does."""
        assert self.notify_url is not None, "nobody subscribed"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {credential}", "Content-Type": "application/json"}
        return httpx.post(self.notify_url, content=data, headers=headers, timeout=30)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

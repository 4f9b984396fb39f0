"""Hostile XML on the SOAP route: a fault, nothing fetched, nothing read, nothing delivered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gateway.xroad.envelope import GATEWAY
from tests.xroad.support import XRoadGateway, envelope, fixture, post

MARKER = "MARKER-7d1f0c"


class Attacker:
    """A server on 127.0.0.1 that counts every request a parser might make to it."""

    def __init__(self) -> None:
        attacker = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                attacker.hits += 1
                body = f'<!ENTITY x "{MARKER}">'.encode()
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    server = Attacker()
    yield server
    server.stop()


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


def hostile_bodies(attacker: Attacker, secret: Path) -> dict[str, bytes]:
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    request = envelope("<x/>")
    head, _, rest = request.partition(b"?>")
    return {
        "external entity": head
        + f'?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
        + rest.replace(b"<x/>", b"<x>&x;</x>"),
        "external dtd": head + f'?><!DOCTYPE e SYSTEM "{attacker.url}/e.dtd">'.encode() + rest,
        "parameter entity": head
        + f'?><!DOCTYPE e [<!ENTITY % p SYSTEM "{attacker.url}/p"> %p;]>'.encode()
        + rest,
        "entity bomb": head
        + f'?><!DOCTYPE e [<!ENTITY l0 "lol">{laughs}]>'.encode()
        + rest.replace(b"<x/>", b"<x>&l9;</x>"),
        "xinclude": envelope(
            f'<x xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{attacker.url}/x"/>'
            f'<xi:include href="file://{secret}" parse="text"/></x>'
        ),
        "10,000 deep": envelope("<x>" * 10_000 + "</x>" * 10_000),
        "not xml": b"\x00\xff<<<",
    }


def test_hostile_xml_is_a_fault_with_nothing_fetched_or_read(
    gateway: XRoadGateway, attacker: Attacker, secret: Path
) -> None:
    for case, body in hostile_bodies(attacker, secret).items():
        answer = post(gateway, body)

        assert answer.status_code == 422, case
        detail = etree.fromstring(answer.content).find(f".//{{{GATEWAY}}}error")
        assert detail.findtext(f"{{{GATEWAY}}}reason") == "invalid_message", case
        assert MARKER not in answer.text, case
    assert attacker.hits == 0
    assert gateway.authority.hits == 0


def test_a_remote_schema_location_is_never_fetched(
    gateway: XRoadGateway, attacker: Attacker
) -> None:
    located = fixture("document-validity-check").replace(
        'schemaVersion="1.0"',
        'schemaVersion="1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="urn:exchange-hub:immigration:1 {attacker.url}/evil.xsd"',
    )

    answer = post(gateway, envelope(located, service="document-validity-check"))

    assert answer.status_code in (200, 422), answer.text
    assert attacker.hits == 0


def test_a_body_over_the_limit_is_a_413_fault_and_the_rest_is_unread(
    gateway: XRoadGateway,
) -> None:
    huge = envelope("<x>" + "a" * (gateway.runtime.settings.max_body_bytes + 1) + "</x>")

    answer = post(gateway, huge)

    assert answer.status_code == 413
    detail = etree.fromstring(answer.content).find(f".//{{{GATEWAY}}}error")
    assert detail.findtext(f"{{{GATEWAY}}}reason") == "payload_too_large"

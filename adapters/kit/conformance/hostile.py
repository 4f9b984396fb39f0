"""Hostile bodies, by wire format: what every parse must refuse, cheaply, without echoing.

Each body is refused with a 4xx GatewayError (ParseError, UnsupportedMediaTypeError,
PayloadTooLargeError), never another exception; its answer stays small; and nothing it
holds, nor any file it points at, appears in the answer. XML bodies that point at a server
point at a local one that counts what it is asked: it must be asked nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MARKER = "Zq7-PERSONAL-DATA-4kX"
"""Planted in hostile bodies and in files they point at: it must never come back."""
DEEP = 10_000
HUGE_BYTES = 2 * 1024 * 1024
MANY_ITEMS = 300_000
ANSWER_LIMIT = 64 * 1024
"""Characters an error's message and problems may hold in all, whatever the body."""


@dataclass(frozen=True)
class Hostile:
    """One hostile body and what it tries."""

    name: str
    body: bytes


def json_bodies(native_fields: frozenset[str]) -> list[Hostile]:
    """Return hostile JSON bodies; the wrong-typed ones use the adapter's own field names."""
    names = sorted(native_fields) or ["value"]
    marked = ",".join(f'"{n}":"{MARKER}"' for n in names)
    listed = ",".join(f'"{n}":["{MARKER}"]' for n in names)
    nested = ",".join(f'"{n}":{{"v":"{MARKER}"}}' for n in names)
    return [
        Hostile("empty body", b""),
        Hostile("deep object nesting", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
        Hostile("deep array nesting", b'{"a":' + b"[" * DEEP + b"]" * DEEP + b"}"),
        Hostile("huge string", b'{"a":"' + b"x" * HUGE_BYTES + b'"}'),
        Hostile("huge list", b'{"a":[' + b"{}," * MANY_ITEMS + b"{}]}"),
        Hostile("malformed UTF-8", b'{"a":"\xff\xfe\xc3"}'),
        Hostile("truncated", b'{"a":'),
        Hostile("top-level array", b"[]"),
        Hostile("top-level string", f'"{MARKER}"'.encode()),
        Hostile("top-level number", b"42"),
        Hostile("top-level null", b"null"),
        Hostile("duplicate keys", f'{{"a":"{MARKER}","a":"{MARKER}"}}'.encode()),
        Hostile("fields as strings", f"{{{marked}}}".encode()),
        Hostile("fields as lists", f"{{{listed}}}".encode()),
        Hostile("fields as objects", f"{{{nested}}}".encode()),
    ]


def xml_bodies(secret_file: Path, server: str) -> list[Hostile]:
    """Return hostile XML bodies; `secret_file` holds MARKER, `server` counts requests."""
    file_url = secret_file.as_uri()
    laughs = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    return [
        Hostile("empty body", b""),
        Hostile(
            "billion laughs",
            f'<!DOCTYPE r [<!ENTITY l0 "lol">{laughs}]><r>&l9;</r>'.encode(),
        ),
        Hostile(
            "quadratic blowup",
            f'<!DOCTYPE r [<!ENTITY a "{"x" * 50_000}">]><r>{"&a;" * 2_000}</r>'.encode(),
        ),
        Hostile(
            "external entity (file)",
            f'<!DOCTYPE r [<!ENTITY x SYSTEM "{file_url}">]><r>&x;</r>'.encode(),
        ),
        Hostile(
            "parameter entity",
            f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{server}/p.dtd"> %p;]><r/>'.encode(),
        ),
        Hostile("external DTD", f'<!DOCTYPE r SYSTEM "{server}/r.dtd"><r/>'.encode()),
        Hostile(
            "XInclude",
            (
                '<r xmlns:xi="http://www.w3.org/2001/XInclude">'
                f'<xi:include href="{file_url}" parse="text"/></r>'
            ).encode(),
        ),
        Hostile(
            "remote schemaLocation",
            (
                '<r xmlns="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                f'xsi:schemaLocation="urn:x {server}/x.xsd">{MARKER}</r>'
            ).encode(),
        ),
        Hostile("deep nesting", b"<a>" * DEEP + b"</a>" * DEEP),
        Hostile("huge body", b"<a>" + b"x" * HUGE_BYTES + b"</a>"),
        Hostile("malformed", f"<a><b>{MARKER}</a>".encode()),
        Hostile("malformed UTF-8", b"<a>\xff\xfe\xc3</a>"),
        Hostile(
            "wrong root element", f"<nobody-expects-this>{MARKER}</nobody-expects-this>".encode()
        ),
    ]


class _Counting(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the kit reports hits itself."""


@contextmanager
def counting_server() -> Iterator[tuple[str, list[str]]]:
    """Serve 127.0.0.1 on a free port, answering 404 and noting each path asked for."""
    hits: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def answer_text(error: Any) -> str:
    """Return all an error says: its message and every problem's location and message."""
    parts = [str(error.message)]
    for problem in getattr(error, "problems", ()):
        parts += [str(problem.location), str(problem.message)]
    return "\n".join(parts)


def families(media_types: frozenset[str]) -> Mapping[str, bool]:
    """Say which wire formats an adapter reads, from the media types its parse accepts."""
    return {
        "json": any(m.endswith("json") for m in media_types),
        "xml": any(m.endswith("xml") for m in media_types),
    }

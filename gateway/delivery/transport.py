"""The one seam between the gateway and the network, so tests can point it at real servers.

A transport returns the whole answer (status, headers, the start of the body, time taken),
as httpx's `send` does, so the relay can read a 409 "already applied", a `Retry-After`, a
SOAP fault or a receipt; a destination it cannot reach is a TransportError, in the
gateway's one error tree.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

import httpx

from gateway.errors import TransportError

# What is kept of an answer's body: enough for a fault's first lines, never a large download.
BODY_CAP_BYTES = 4096


@dataclass(frozen=True)
class Response:
    """A destination's answer; header names are lower case, the body is cut at a cap."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed_seconds: float = 0.0


class Transport(Protocol):
    """Send one message to a destination.

    Why a Protocol: the relay's retry and lease rules are tested against real servers on
    127.0.0.1 through the real transport, and another transport (a message queue, mTLS)
    plugs in without the relay knowing.
    """

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """Send one message; return the answer or raise TransportError."""
        ...


class HttpTransport:
    """HTTP delivery with httpx; redirects are not followed (a moved system re-registers).

    The client is shared by the relay's threads (httpx's client is thread-safe); the timeout
    bounds each step (connect, each read, each write), so a hung destination costs one
    timeout per message sent to it.
    """

    def __init__(self, timeout_seconds: float, body_cap: int = BODY_CAP_BYTES) -> None:
        self._client = httpx.Client(
            timeout=timeout_seconds, follow_redirects=False, verify=_certificates()
        )
        self._cap = body_cap

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        started = time.monotonic()
        try:
            with self._client.stream("POST", url, content=body, headers=dict(headers)) as answer:
                kept = bytearray()
                for chunk in answer.iter_bytes():
                    kept += chunk[: self._cap - len(kept)]
                    if len(kept) >= self._cap:
                        break
                return Response(
                    status=answer.status_code,
                    headers={k.lower(): v for k, v in answer.headers.items()},
                    body=bytes(kept),
                    elapsed_seconds=time.monotonic() - started,
                )
        except httpx.HTTPError as exc:
            raise TransportError(type(exc).__name__) from exc

    def close(self) -> None:
        self._client.close()


@cache
def _certificates() -> ssl.SSLContext:
    """Return the system's trusted certificates, read once per process and shared by every
    client: reading them costs about 50 ms, and an SSLContext may serve many connections."""
    return ssl.create_default_context()

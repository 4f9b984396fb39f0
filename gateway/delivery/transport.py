"""The one seam between the gateway and the network, so tests can point it at real servers.

A transport returns the whole answer (status, headers, the start of the body, time taken),
as an HTTP client's response does, so the relay can read a 409 "already applied", a `Retry-After`, a
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

import urllib3

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
    """HTTP delivery with urllib3; redirects are not followed (a moved system re-registers).

    Why urllib3 and not httpx (which the CLI and the tests use): the relay's threads send one
    message after another on kept-alive connections, and there httpx's client spent twice
    urllib3's time per request (bench/delivery.py: 1,700 against 3,400 requests/s from 8
    threads to one receiver on 127.0.0.1; httpx's async client, 850). The pool is shared by
    the relay's threads (urllib3's pool manager is thread-safe) and holds one connection per
    thread and host; the timeout bounds connecting and each read, so a hung destination
    costs one timeout per message sent to it. Nothing is retried here: retries are the
    relay's, counted in the outbox.
    """

    def __init__(
        self, timeout_seconds: float, body_cap: int = BODY_CAP_BYTES, connections: int = 8
    ) -> None:
        self._pool = urllib3.PoolManager(
            num_pools=64,
            maxsize=connections,
            timeout=urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds),
            retries=False,
            ssl_context=_certificates(),
        )
        self._cap = body_cap

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        started = time.monotonic()
        try:
            answer = self._pool.request(
                "POST",
                url,
                body=body,
                headers=dict(headers),
                preload_content=False,
                redirect=False,
            )
        except (urllib3.exceptions.HTTPError, ValueError) as exc:
            raise TransportError(_failure(exc)) from exc
        try:
            kept = bytearray()
            for chunk in answer.stream(65536):
                kept += chunk[: self._cap - len(kept)]
                if len(kept) >= self._cap:
                    answer.close()  # the rest is not wanted: this connection is not reused
                    break
            return Response(
                status=answer.status,
                headers={k.lower(): v for k, v in answer.headers.items()},
                body=bytes(kept),
                elapsed_seconds=time.monotonic() - started,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise TransportError(_failure(exc)) from exc
        finally:
            answer.release_conn()

    def close(self) -> None:
        self._pool.clear()


def _failure(exc: Exception) -> str:
    """Name a failure to reach a destination, the same whatever the HTTP library says."""
    if isinstance(  # before timeouts: urllib3 makes these a kind of connect timeout
        exc, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    ):
        return "ConnectError"
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return "ReadTimeout"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "RemoteProtocolError"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "TLSError"
    if isinstance(exc, ValueError | urllib3.exceptions.LocationParseError):
        return "InvalidURL"
    return type(exc).__name__


@cache
def _certificates() -> ssl.SSLContext:
    """Return the system's trusted certificates, read once per process and shared by every
    client: reading them costs about 50 ms, and an SSLContext may serve many connections."""
    return ssl.create_default_context()

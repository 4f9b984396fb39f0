"""The one seam between the gateway and the network, so tests can point it at real servers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import httpx


class TransportError(Exception):
    """The destination could not be reached (refused, timed out, reset)."""


class Transport(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """Send one message; return the HTTP status or raise TransportError."""
        ...


class HttpTransport:
    """HTTP delivery with httpx; redirects are not followed (a moved system re-registers)."""

    def __init__(self, timeout_seconds: float) -> None:
        self._client = httpx.Client(timeout=timeout_seconds, follow_redirects=False)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            return self._client.post(url, content=body, headers=dict(headers)).status_code
        except httpx.HTTPError as exc:
            raise TransportError(type(exc).__name__) from exc

    def close(self) -> None:
        self._client.close()

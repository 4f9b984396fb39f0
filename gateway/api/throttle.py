"""Refuse a client address that keeps failing to authenticate, before its request is read.

Why: every failed authentication is an exchange record written to disk, and nothing slowed a
caller guessing credentials (8,000 failures in 14 s). After `limit` failures (401 answers)
within `window` seconds an address gets 429, with Retry-After, for every request until the
oldest of them leaves the window; such a request is not read, routed or recorded.

The address is the connection's peer (`scope["client"]`), or the X-Forwarded-For address only
when a proxy named in GATEWAY_HTTP_TRUSTED_PROXIES sent it (gateway/api/server.py). Counts live
in each serving process, so with `--workers N` an address may fail up to N times `limit`
before every process refuses it. Memory is bounded: at most `max_addresses` addresses are
tracked, and the one that failed least recently is forgotten first.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.errors import render
from gateway.config import Settings
from gateway.errors import TooManyFailedAuthenticationsError


class FailedAuthentications:
    """The most recent failed authentications of each client address (at most `limit` each)."""

    def __init__(
        self,
        limit: int,
        window: float,
        max_addresses: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}  # least recently failed first

    @classmethod
    def of(cls, settings: Settings) -> FailedAuthentications:
        return cls(
            settings.auth_failure_limit,
            settings.auth_failure_window_seconds,
            settings.auth_failure_max_addresses,
        )

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, address: str) -> float | None:
        """Return the seconds until `address` may try again, or None if it may now."""
        failures = self._failures.get(address)
        if failures is None or len(failures) < self.limit:
            return None
        wait = failures[0] + self.window - self.clock()
        return wait if wait > 0 else None

    def failed(self, address: str) -> None:
        """Count a failed authentication from `address`."""
        failures = self._failures.pop(address, None) or deque(maxlen=self.limit)
        failures.append(self.clock())
        self._failures[address] = failures
        while len(self._failures) > self.max_addresses:
            del self._failures[next(iter(self._failures))]


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class Throttle:
    """ASGI middleware: count each address's 401 answers; refuse it early once over the limit."""

    def __init__(self, app: ASGIApp, failures: FailedAuthentications) -> None:
        self.app = app
        self.failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        wait = self.failures.retry_after(address)
        if wait is not None:
            error = TooManyFailedAuthenticationsError(
                "too many failed authentications from this address; try again later"
            )
            response = render(Request(scope), error)
            response.headers["Retry-After"] = str(math.ceil(wait))
            await response(scope, receive, send)
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.failures.failed(address)
            await send(message)

        await self.app(scope, receive, counting)

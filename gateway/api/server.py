"""Serve the gateway with uvicorn: one set of options for every way it is served, and a guard
on each request's header block.

`gateway serve` (one process or `--workers N`) and the test and demo server (`ServedGateway`)
all take their uvicorn options from `options`, so the tests run under the limits production
runs under.

Why the guard: uvicorn (with httptools) gives no deadline for receiving a request's headers.
`timeout_keep_alive` is only the idle time between requests and the first byte cancels it,
and a new connection has no timer at all (uvicorn issue #157, "--timeout-request-start", is
still open); httptools sets no limit on a header block's size. A client could hold a
connection for ever by sending a byte now and then (1,100 of them took a server down), or
make the server keep 16 MB of headers. `GuardedHttpToolsProtocol` adds both limits through
uvicorn's documented extension point, `uvicorn.Config(http=<protocol class>)`, overriding only
asyncio Protocol methods and httptools parser callbacks.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gateway.api.errors import error_body
from gateway.config import Settings
from gateway.errors import HeadersTooLargeError

log = logging.getLogger(__name__)

HEADER_LIMITS = "gateway.header_limits"
"""Key of the header limits in the app's lifespan state, where each connection finds them.

Why there: a worker process (`--workers N`) builds its app from the GATEWAY_* variables, and
the lifespan state is what the app hands its server; a protocol class is imported by name in
each worker and cannot carry settings itself.
"""

_OVERRIDDEN = (
    "connection_made",
    "connection_lost",
    "data_received",
    "on_message_begin",
    "on_headers_complete",
)


def missing_overrides(base: type) -> list[str]:
    """Return what the guard overrides that `base` lacks (nothing, for the pinned uvicorn)."""
    missing = [name for name in _OVERRIDDEN if not callable(getattr(base, name, None))]
    if "app_state" not in inspect.signature(base).parameters:
        missing.append("__init__(app_state=...)")
    return missing


if _missing := missing_overrides(HttpToolsProtocol):
    raise ImportError(
        f"uvicorn {uvicorn.__version__}'s HttpToolsProtocol has no {', '.join(_missing)}; "
        "gateway/api/server.py guards request headers through them. Install the uvicorn "
        "version pyproject.toml pins."
    )


@dataclass(frozen=True)
class HeaderLimits:
    """How long a request's headers may take to arrive, and how many bytes they may take."""

    seconds: float
    max_bytes: int


def lifespan_state(settings: Settings) -> dict[str, Any]:
    """Return what the app's lifespan hands its server: the header limits."""
    limits = HeaderLimits(settings.http_header_timeout_seconds, settings.http_max_header_bytes)
    return {HEADER_LIMITS: limits}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit for each header block.

    The deadline runs from the connection's start, and from the first byte of each later
    request (the wait before that byte is uvicorn's keep-alive timeout), to the end of the
    headers; when it passes, the connection is closed. A header block over the size limit is
    answered 431 and the connection closed: bytes past the limit never reach the parser, so
    none of them is kept.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = app_state.get(HEADER_LIMITS)
        if not isinstance(limits, HeaderLimits):
            raise RuntimeError("serve the gateway's app with its lifespan on (server.options)")
        self._limits = limits
        self._edge: asyncio.Transport | None = None
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    # Typed as uvicorn types it (asyncio's Protocol says BaseTransport).
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._edge = transport
        self._arm()
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None:  # not within a header block: a body, or idle
            super().data_received(data)
            return
        room = self._limits.max_bytes - self._header_bytes
        if len(data) <= room:
            self._header_bytes += len(data)
            super().data_received(data)
            return
        # Give the parser no more than the limit allows; the headers may still end within it,
        # and what follows them (a body, say) is no part of the header block.
        self._header_bytes = self._limits.max_bytes
        super().data_received(data[:room])
        if self._edge is None or self._edge.is_closing():  # the parser refused it already
            return
        if self._header_timer is not None:
            self._refuse_header_block()
        else:
            super().data_received(data[room:])

    def on_message_begin(self) -> None:
        if self._header_timer is None:  # a later request on this connection starts its clock
            self._arm()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        self._disarm()
        self._header_bytes = 0
        loop = asyncio.get_running_loop()
        self._header_timer = loop.call_later(self._limits.seconds, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        log.info(
            "closed a connection: no complete request headers within %gs", self._limits.seconds
        )
        if self._edge is not None:
            self._edge.close()

    def _refuse_header_block(self) -> None:
        self._disarm()
        error = HeadersTooLargeError(
            f"the request's headers are over {self._limits.max_bytes} bytes"
        )
        body = json.dumps(error_body(error), separators=(",", ":")).encode()
        head = (
            "HTTP/1.1 431 Request Header Fields Too Large\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        if self._edge is not None:
            self._edge.write(head.encode() + body)
            self._edge.close()


def options(settings: Settings) -> dict[str, Any]:
    """Return the uvicorn options the gateway is served with: the one place they are set."""
    trusted = settings.http_trusted_proxies.strip()
    return {
        "http": GuardedHttpToolsProtocol,
        "lifespan": "on",
        "log_level": "warning",
        "limit_concurrency": settings.http_max_connections,
        "backlog": settings.http_backlog,
        # X-Forwarded-For names the client only when a proxy the settings trust sent it.
        # uvicorn's default trusts 127.0.0.1, so anyone on the host could pick the address
        # its failed authentications are counted under (gateway/api/throttle.py).
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
    }


def config(app: Any, settings: Settings, **where: Any) -> uvicorn.Config:
    """Build the uvicorn Config for serving `app` from this process (`where`: host, port...)."""
    return uvicorn.Config(app, **options(settings), **where)


def run(app: Any, settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve until stopped: the app `app`, or in `workers` processes the factory it names."""
    several: dict[str, Any] = {"factory": True, "workers": workers} if workers > 1 else {}
    uvicorn.run(app, host=host, port=port, **several, **options(settings))

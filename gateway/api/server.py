"""Serve the gateway with uvicorn: one set of options for every way it is served, a guard on
each request's header block, and a server that says what it serves and when it is ready.

`gateway serve` (one process or `--workers N`) and the test and demo server (`ServedGateway`)
all take their uvicorn options from `options`, so the tests run under the limits production
runs under, and log as production logs (`gateway/logs.py`).

What `run` logs: the URL it serves, the API docs, the database (its password hidden), the
data directory and the number of serving processes; then "ready" once connections are
accepted, which is after the app's start-up: uvicorn runs the lifespan before it binds.

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
import os
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

from gateway import logs
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

# What `ReadyWorkers` uses of uvicorn's supervisor: public methods, checked as the guard's are.
_SUPERVISION = {
    Multiprocess: ("init_processes", "handle_signals"),
    Process: ("is_ready",),
}
if _absent := [
    f"{c.__name__}.{n}" for c, ns in _SUPERVISION.items() for n in ns if not hasattr(c, n)
]:
    raise ImportError(
        f"uvicorn {uvicorn.__version__} has no {', '.join(_absent)}; gateway/api/server.py "
        "says when worker processes are ready through them. Install the pinned uvicorn."
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
        log.info(
            "refused a request: its headers are over %d bytes (431)",
            self._limits.max_bytes,
            extra={"status": 431},
        )
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
        # The gateway's logging, in this process and in each worker uvicorn starts (uvicorn
        # applies it in each); its levels included, so no `log_level` here to override them.
        "log_config": logs.config(settings.log_format, settings.log_level),
        "access_log": False,  # the gateway's own access line instead (api/access.py)
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
    """Serve until stopped: the app `app`, or in `workers` processes the factory it names.

    What `uvicorn.run` does for these two cases, with a server and a supervisor that say when
    they are ready.
    """
    if workers == 1:
        served = ReadyServer(config(app, settings, host=host, port=port))  # logging set up
        announce(settings, base_url(host, port), workers)
        try:
            served.run()
        except KeyboardInterrupt:  # uvicorn raises the signal it caught again, once stopped
            pass
        if not served.started:
            sys.exit(STARTUP_FAILURE)
        return
    several = config(app, settings, host=host, port=port, factory=True, workers=workers)
    announce(settings, base_url(host, port), workers)
    listening = several.bind_socket()
    ReadyWorkers(several, sockets=[listening]).run()
    log.info("stopped: every worker has finished", extra={"pid": os.getpid()})


def base_url(host: str, port: int) -> str:
    """Return the URL of the gateway served at `host`:`port`."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def shown_database(url: str) -> str:
    """Return the database URL with any password hidden, in its user part or its query."""
    parsed = make_url(url)
    hidden = {name: "***" for name in parsed.query if "password" in name.lower()}
    return parsed.update_query_dict(hidden).render_as_string(hide_password=True)


def announce(settings: Settings, url: str, workers: int) -> None:
    """Log what is about to be served, from where, and from what; before anything is bound."""
    processes = "1 process" if workers == 1 else f"{workers} processes"
    log.info(
        "serving the gateway at %s from %s", url, processes, extra={"url": url, "workers": workers}
    )
    docs, redoc = f"{url}/docs", f"{url}/redoc"
    log.info("API docs at %s and %s", docs, redoc, extra={"docs": docs, "redoc": redoc})
    database = shown_database(settings.resolved_database_url)
    log.info("database: %s", database, extra={"database": database})
    data_dir = str(settings.data_dir.resolve())
    log.info("data directory: %s", data_dir, extra={"data_dir": data_dir})


class ReadyServer(uvicorn.Server):
    """uvicorn's server, which says it is ready once its socket accepts connections.

    Why not when the app's start-up ends: uvicorn runs the lifespan (where "Application
    startup complete" is logged) before it binds, so a client told "ready" then would be
    refused. `Server.startup`, a public method, returns once `loop.create_server` has made the
    socket listen, and sets `started`; the line follows it, with the address really bound.
    And "stopped" once `Server.shutdown` has closed the connections and the app.
    """

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            url = base_url(host, port)
            pid = os.getpid()
            log.info("ready: accepting connections at %s", url, extra={"url": url, "pid": pid})

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Said here, not after `run`: uvicorn then raises the signal that stopped it again,
        # and SIGTERM's default ends the process there and then.
        await super().shutdown(sockets=sockets)
        log.info("stopped", extra={"pid": os.getpid()})


READY_PATIENCE_SECONDS = 120.0
"""How long the parent waits for its workers' start-up before it only supervises them."""


class ReadyWorkers(Multiprocess):
    """uvicorn's supervisor of worker processes, which says when each worker is ready, and
    "ready" once all of them are.

    Why the parent says it: a worker runs uvicorn's own server, which uvicorn's `Process`
    builds, so nothing of the gateway's runs in a worker between its binding and its serving
    (the app's lifespan runs before). The parent asks each worker with uvicorn's own health
    check (`Process.is_ready`), which answers the worker's `Server.started`: set once the
    worker's listener accepts connections. So each line is written once it is true (a moment
    after, never before), with the worker's pid; a worker that died or is not ready in time
    is said to be so, and uvicorn's supervision takes over as it always does.
    """

    def init_processes(self) -> None:
        super().init_processes()
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        url = base_url(*self.sockets[0].getsockname()[:2])
        starting = list(self.processes)
        deadline = time.monotonic() + READY_PATIENCE_SECONDS
        while starting and not self.should_exit.is_set():
            self.handle_signals()  # Ctrl+C while the workers start stops them as ever
            if self.should_exit.is_set():
                return
            for process in list(starting):
                if process.is_ready(timeout=0.5):
                    starting.remove(process)
                    log.info(
                        "worker %s ready: accepting connections at %s",
                        process.pid,
                        url,
                        extra={"url": url, "pid": process.pid},
                    )
                elif process.exitcode is not None:
                    starting.remove(process)
                    log.warning("worker %s exited while starting", process.pid)
                    return
            if starting and time.monotonic() > deadline:
                pids = ", ".join(str(p.pid) for p in starting)
                log.warning("workers not ready after %gs: %s", READY_PATIENCE_SECONDS, pids)
                return
        if not starting:
            log.info(
                "ready: %d processes accepting connections at %s",
                len(self.processes),
                url,
                extra={"url": url, "workers": len(self.processes), "pid": os.getpid()},
            )

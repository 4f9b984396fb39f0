"""The FastAPI application; OpenAPI at /openapi.json, read at /docs and /redoc."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.requests import ClientDisconnect

from gateway.api import (
    agreements,
    consents,
    dci,
    dead_letters,
    dpo,
    edge,
    errors,
    exchanges,
    health,
    log,
    metrics,
    openapi,
    policy,
    referrals,
    registrations,
    requests,
    server,
    statistics,
    systems,
    xroad,
)
from gateway.api.access import AccessLog
from gateway.api.throttle import FailedAuthentications, Throttle
from gateway.config import Settings
from gateway.console import router as console_router
from gateway.errors import ConfigurationError, Problem
from gateway.runtime import Runtime

DOCS_STATIC = "/static-offline-docs"
"""Where fastapi_offline's packaged Swagger UI and ReDoc files are served."""
SWAGGER_UI = {"validatorUrl": None, "persistAuthorization": True}
"""Swagger UI's settings: no request to the public validator, and a credential given to
"Authorize" kept across reloads of the page."""


def create_app(runtime: Runtime, start_relay: bool | None = None) -> FastAPI:
    """Build the app around a runtime; the relay drains the outbox while the app runs."""
    relay = runtime.settings.relay_enabled if start_relay is None else start_relay

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if relay:
            runtime.start_relay()
        runtime.start_log_appender()
        yield server.lifespan_state(runtime.settings)  # the server's limits on header blocks
        await runtime.exchanges.writes.close()
        runtime.close()

    # Swagger UI and ReDoc from the package's own files: /docs works with no internet, and
    # asks no other host for anything (no validator badge, no fonts, no logo).
    app = FastAPIOffline(
        title="Exchange gateway",
        summary="Policy-enforcing exchange of records about refugees between systems.",
        version="0.1.0",
        lifespan=lifespan,
        swagger_ui_parameters=SWAGGER_UI,
        docs_url=None,  # served by openapi.install_pages, under a content security policy
        redoc_url=None,
        static_url=DOCS_STATIC,
        # A 307 to the path without the slash has an empty body, and curl does not follow it
        # with the POST body: a 404 that names the right path says more (errors.py).
        redirect_slashes=False,
    )
    openapi.install_pages(app, DOCS_STATIC)
    app.state.runtime = runtime
    errors.install(app)
    app.add_exception_handler(ClientDisconnect, edge.on_hang_up)
    # Outermost last: an unread body closes the connection, whoever answered; a throttled
    # address is refused before its headers are even looked at.
    # Every route's body is limited, before any parser sees it (a route that reads its own,
    # like the exchange submission, turns the refusal into its recorded 413).
    app.add_middleware(xroad.RestHeaders)  # innermost: its refusals are logged and throttled
    app.add_middleware(edge.BodyLimit, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(edge.SingleHeaders)
    app.add_middleware(Throttle, failures=FailedAuthentications.of(runtime.settings))
    app.add_middleware(edge.CloseUnread)
    app.add_middleware(AccessLog)  # outermost: one line for every answer, refusals included
    for module in (
        exchanges,
        systems,
        consents,
        agreements,
        health,
        log,
        dpo,
        statistics,
        requests,
        policy,
        dead_letters,
        metrics,
        referrals,
        registrations,
        dci,
        xroad,
    ):
        app.include_router(module.router)
    app.include_router(console_router, include_in_schema=False)  # the DPO's web console
    openapi.install(app, runtime.exchanges.adapters)
    return app


def from_environment() -> FastAPI:
    """Build the app from the GATEWAY_* settings: what each serving worker process runs."""
    return serving_app(Runtime.build(Settings()))


def serving_app(runtime: Runtime) -> FastAPI:
    """Build the app a serving process runs, with what start-up built frozen.

    Frozen: kept out of garbage collection. Those objects (schemas, code lists, validators)
    live as long as the process, yet every full collection walked them all, pausing the
    event loop under load. Frozen, a full collection walks only what came after. Not in
    `create_app`: a process that builds many apps (the tests) would keep their cyclic
    garbage for ever.
    """
    app = create_app(runtime)
    gc.collect()
    gc.freeze()
    return app


def serve(runtime: Runtime, host: str, port: int, workers: int = 1) -> None:
    """Serve the HTTP API: from this process, or from `workers` processes on one socket.

    Why several: one Python process uses one core, and the gateway's work is CPU work. They
    need a database server: SQLite is the embedded default for one process. The outbox
    relay in each claims messages with leases, so none is sent twice at once. Each worker
    builds its own runtime from the GATEWAY_* variables, after this process has migrated
    the database and made the keys (`runtime`); so the settings must be those variables.
    """
    if workers == 1:
        server.run(serving_app(runtime), runtime.settings, host, port)
        return
    if runtime.settings != Settings():
        raise ValueError("worker processes read their settings from GATEWAY_* variables only")
    if runtime.db.embedded:
        raise ConfigurationError(
            "several serving processes need PostgreSQL",
            [
                Problem(
                    "GATEWAY_WORKERS",
                    f"{workers} processes on SQLite: set GATEWAY_DATABASE_URL to a PostgreSQL"
                    " database, or serve from one process",
                )
            ],
        )
    runtime.close()
    target = f"{__name__}:{from_environment.__name__}"
    server.run(target, runtime.settings, host, port, workers=workers)

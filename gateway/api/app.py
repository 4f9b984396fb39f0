"""The FastAPI application; OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import CapacityLimiter
from fastapi import FastAPI

from gateway.api import consents, errors, exchanges, health, systems
from gateway.runtime import Runtime
from gateway.store.group import GroupCommit


def create_app(runtime: Runtime, start_relay: bool | None = None) -> FastAPI:
    """Build the app around a runtime; the relay drains the outbox while the app runs."""
    relay = runtime.settings.relay_enabled if start_relay is None else start_relay

    commits = GroupCommit(runtime.db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if relay:
            runtime.start_relay()
        yield
        await commits.close()
        runtime.close()

    app = FastAPI(
        title="Exchange gateway",
        summary="Policy-enforcing exchange of records about refugees between systems.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.exchange_threads = CapacityLimiter(runtime.settings.exchange_threads)
    app.state.commits = commits
    errors.install(app)
    for module in (exchanges, systems, consents, health):
        app.include_router(module.router)
    return app

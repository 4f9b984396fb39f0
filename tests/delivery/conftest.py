"""Fixtures for the relay's tests: a runtime, and relays that are closed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.config import Settings
from gateway.delivery.lease import LeasePolicy
from gateway.delivery.outbox import OutboxRelay
from gateway.delivery.retry import RetryPolicy
from gateway.delivery.transport import HttpTransport
from gateway.runtime import Runtime
from tests.delivery.servers import Destination
from tests.delivery.support import Clock


@pytest.fixture
def applying() -> Iterator[Destination]:
    """A destination that applies each Idempotency-Key once and answers 409 after."""
    server = Destination()
    yield server
    server.stop()


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings)
    yield rt
    rt.close()


@pytest.fixture
def relays(runtime: Runtime) -> Iterator[Callable[..., OutboxRelay]]:
    """Make relays on the runtime's database (hand-moved clock, 30 s leases); close them after."""
    made: list[OutboxRelay] = []

    def make(clock: Clock, max_attempts: int = 4, timeout: float = 5, **kwargs: Any) -> OutboxRelay:
        retry = RetryPolicy(max_attempts=max_attempts, base_seconds=1, max_seconds=8)
        kwargs.setdefault("leases", LeasePolicy(lease_seconds=30, renew_seconds=10))
        relay = OutboxRelay(
            runtime.db,
            HttpTransport(timeout),
            runtime.sealer,
            retry,
            clock,
            bodies=runtime.bodies,
            **kwargs,
        )
        made.append(relay)
        return relay

    yield make
    for relay in made:
        relay.close()

"""A served gateway with its relay running and the holding policy double, the demo systems
registered, and the civil registry pointed at a real destination server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway import systems
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment
from gateway.demo.server import ServedGateway
from tests.approvals.support import hold_keyed
from tests.delivery.servers import Destination


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The relay runs (what is delivered is the point); the log's appender does not."""
    return settings.model_copy(update={"log_appender_enabled": False})


@pytest.fixture
def env(served: ServedGateway) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(served.runtime, served.url)
    hold_keyed(served.runtime)
    yield environment
    environment.stop()


@pytest.fixture
def destination(env: DemoEnvironment) -> Iterator[Destination]:
    """The civil registry as a destination that counts what it applies, under each key."""
    server = Destination()
    with env.runtime.db.unit_of_work() as session:
        systems.move(session, CIVIL_REGISTRY, server.url)
    yield server
    server.stop()

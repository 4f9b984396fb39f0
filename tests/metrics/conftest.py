"""The served gateway with the demo systems registered, its relay and log appender off.

With the relay off, an accepted exchange stays pending in the outbox and the civil registry
never answers: every count a test sees moving was moved by the requests it made.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.config import Settings
from gateway.demo.flow import DemoEnvironment
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"relay_enabled": False, "log_appender_enabled": False})


@pytest.fixture
def env(served: ServedGateway) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(served.runtime, served.url)
    yield environment
    environment.stop()


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = Runtime.build(settings)
    yield built
    built.close()

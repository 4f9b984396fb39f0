"""The commands' tests: every command points at the test's own data directory and database,
and the demo systems are registered in the served gateway when a test asks for `env`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.config import Settings
from gateway.demo.flow import DemoEnvironment
from gateway.demo.server import ServedGateway


@pytest.fixture(autouse=True)
def gateway_env(commands_env: Settings) -> Settings:
    return commands_env


@pytest.fixture
def env(served: ServedGateway) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(served.runtime, served.url)
    yield environment
    environment.stop()

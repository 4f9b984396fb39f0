"""The served gateway with the demo systems registered, its relay and log appender off, and a
small body limit.

With the relay off, an accepted exchange stays in the outbox and the civil registry never
answers; with the appender off, records are sealed only when a test seals them: whatever a
test finds in the database was written by the request it made.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.config import Settings
from gateway.demo.flow import DemoEnvironment
from gateway.demo.server import ServedGateway
from tests.api.helpers import BODY_LIMIT


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"relay_enabled": False, "log_appender_enabled": False, "max_body_bytes": BODY_LIMIT}
    )


@pytest.fixture
def env(served: ServedGateway) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(served.runtime, served.url)
    yield environment
    environment.stop()

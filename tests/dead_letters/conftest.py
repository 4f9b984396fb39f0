"""Fixtures for the dead letters' tests: a runtime on a hand-moved clock, a real destination.

Dead letters are made as the relay makes them: a message is queued as the pipeline queues it
(tests/delivery/support.py) to a real HTTP server on 127.0.0.1 that refuses it for good (400),
and the runtime's own relay tries it once (`drain`), in the test's thread.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.config import Settings
from gateway.runtime import Runtime
from tests.dead_letters.support import Letters
from tests.delivery.servers import Destination
from tests.delivery.support import Clock


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"relay_enabled": False, "log_appender_enabled": False})


@pytest.fixture
def destination() -> Iterator[Destination]:
    """A destination that refuses everything for good until a test says otherwise."""
    server = Destination()
    server.status = 400
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runtime(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    rt = Runtime.build(settings, clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def letters(runtime: Runtime, destination: Destination, clock: Clock) -> Letters:
    return Letters(runtime, destination, clock)

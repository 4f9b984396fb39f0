"""A served gateway with the demo systems, its relay off, its log sealed every 50 ms.

With the relay off an accepted exchange stays pending, so what a page shows is what the test
sent. `console` is an HTTP client that follows no redirect: where a page sends the browser is
part of what is tested.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.config import Settings
from gateway.demo.flow import DemoEnvironment
from gateway.demo.server import ServedGateway

CONSOLE = "/console"


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The console tests' settings, and what a test's parameter adds."""
    return settings.model_copy(
        update={
            "relay_enabled": False,
            "log_append_interval_seconds": 0.05,
            **getattr(request, "param", {}),
        }
    )


@pytest.fixture
def env(served: ServedGateway) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(served.runtime, served.url)
    yield environment
    environment.stop()


@pytest.fixture
def dpo_token(served: ServedGateway) -> str:
    return served.runtime.settings.resolved_dpo_token()


@pytest.fixture
def console(served: ServedGateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30, follow_redirects=False) as client:
        yield client

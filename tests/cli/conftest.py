"""The commands' tests: every command points at the test's own data directory and database,
and the demo systems are registered in the served gateway when a test asks for `env`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from gateway.config import Settings
from gateway.demo.flow import DemoEnvironment
from gateway.demo.server import ServedGateway


@pytest.fixture(autouse=True)
def gateway_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the commands at the test's data directory and database, and nothing else."""
    for name in [n for n in os.environ if n.startswith("GATEWAY_")]:
        if not name.startswith("GATEWAY_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    assert settings.database_url is not None
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    return settings


@pytest.fixture
def env(served: ServedGateway) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(served.runtime, served.url)
    yield environment
    environment.stop()

"""The migration world on the test's database, and export files written for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.config import Settings
from gateway.runtime import Runtime
from tests.bulk import world


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = world.build(settings)
    world.register(built)
    yield built
    built.close()

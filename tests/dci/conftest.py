"""A gateway served on 127.0.0.1 with the DCI adapter registered, and a stand-in DCI registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.dci import DciAdapter
from adapters.opencrvs import OpenCrvsAdapter
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway.config import Settings
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime
from tests.dci.registry import StandInDciRegistry


@pytest.fixture
def gateway(settings: Settings) -> Iterator[ServedGateway]:
    """The gateway over HTTP, relay running, adapters registered explicitly (dci included)."""
    adapters = AdapterRegistry.from_factories(
        {"progres": ProgresAdapter, "opencrvs": OpenCrvsAdapter, "dci": DciAdapter}
    )
    served = ServedGateway(Runtime.build(settings, adapters=adapters)).start()
    yield served
    served.stop()


@pytest.fixture
def registry() -> Iterator[StandInDciRegistry]:
    standin = StandInDciRegistry().start()
    yield standin
    standin.stop()

"""A gateway served on 127.0.0.1 with the DCI adapter registered, and a stand-in DCI registry."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from adapters.dci import DciAdapter
from adapters.opencrvs import OpenCrvsAdapter
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway.api import server
from gateway.api.app import create_app
from gateway.config import Settings
from gateway.demo.flow import wait_for
from gateway.runtime import Runtime
from tests.dci.registry import StandInDciRegistry


@dataclass(frozen=True)
class Served:
    url: str
    runtime: Runtime


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Served]:
    """The gateway over HTTP, relay running, adapters registered explicitly (dci included)."""
    adapters = AdapterRegistry.from_factories(
        {"progres": ProgresAdapter, "opencrvs": OpenCrvsAdapter, "dci": DciAdapter}
    )
    runtime = Runtime.build(settings, adapters=adapters)
    app = create_app(runtime)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    served = server.ReadyServer(server.config(app, settings))
    thread = threading.Thread(target=served.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert wait_for(lambda: served.started, seconds=15), "the gateway did not start"
    yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", runtime)
    served.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def registry() -> Iterator[StandInDciRegistry]:
    standin = StandInDciRegistry().start()
    yield standin
    standin.stop()

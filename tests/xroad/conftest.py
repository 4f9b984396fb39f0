"""A gateway served over HTTP with its X-Road routes, a border office and an immigration authority.

The authority is a real HTTP server on 127.0.0.1 (a stand-in) that records what it receives.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.immigration import ImmigrationAdapter
from adapters.registry import AdapterRegistry
from gateway import systems
from gateway.api import server
from gateway.api.app import create_app
from gateway.config import Settings
from gateway.demo.standins import StandIn
from gateway.runtime import Runtime
from gateway.systems import SystemSpec
from tests.fixtures.policies import agreement, policy_folder
from tests.xroad.support import (
    AGREEMENT_ID,
    BASIS,
    DESTINATION,
    PURPOSE,
    SOURCE,
    XRoadGateway,
)

CATEGORIES = {
    "document-request": "identity|nationality|identifiers|legal_status",
    "document-status": "identifiers|legal_status",
    "document-validity-check": "identifiers",
    "document-validity-answer": "identifiers",
}

AGREEMENT = agreement(
    AGREEMENT_ID,
    (SOURCE, DESTINATION),
    PURPOSE,
    "identity|nationality|identifiers|legal_status",
    BASIS,
    title="Identity documents for refugees and asylum-seekers",
)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The shipped policy, plus rules for the border office's immigration messages."""
    rules = "".join(
        f"p, {SOURCE}, {DESTINATION}, {message_type}, {PURPOSE}, {BASIS}, {categories}\n"
        for message_type, categories in CATEGORIES.items()
    )
    policy_dir = policy_folder(tmp_path / "policies", rules, AGREEMENT)
    return settings.model_copy(update={"policy_dir": policy_dir})


@pytest.fixture
def gateway(settings: Settings) -> Iterator[XRoadGateway]:
    registry = AdapterRegistry.from_factories({"immigration": ImmigrationAdapter})
    runtime = Runtime.build(settings, adapters=registry)
    authority = StandIn(DESTINATION).start()
    with runtime.db.unit_of_work() as session:
        specs = [
            SystemSpec(id=SOURCE, name="Border office", adapter="immigration", jurisdiction="KEN"),
            SystemSpec(
                id=DESTINATION,
                name="Immigration authority",
                adapter="immigration",
                endpoint=authority.url,
                jurisdiction="KEN",
            ),
        ]
        credentials = [systems.register(session, spec, runtime.sealer)[1] for spec in specs]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    served = server.ReadyServer(server.config(create_app(runtime), settings))
    thread = threading.Thread(target=served.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not served.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the gateway did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield XRoadGateway(runtime, url, authority, *credentials)
    served.should_exit = True
    thread.join(timeout=15)
    authority.stop()

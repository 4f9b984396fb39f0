"""A gateway served over HTTP with its X-Road routes, a border office and an immigration authority.

The authority is a real HTTP server on 127.0.0.1 (a stand-in) that records what it receives.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.immigration import ImmigrationAdapter
from adapters.registry import AdapterRegistry
from gateway.config import Settings
from gateway.demo.server import ServedGateway
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
    credentials = [runtime.systems.register(spec)[1] for spec in specs]
    served = ServedGateway(runtime).start()
    yield XRoadGateway(runtime, served.url, authority, *credentials)
    served.stop()
    authority.stop()

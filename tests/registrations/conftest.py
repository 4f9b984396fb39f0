"""Fixtures for the registration tests: a served gateway that lists flags over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway.config import Settings
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime
from gateway.systems import SystemSpec
from tests.fixtures.policies import agreement

AUTHORITY, OTHER = "unhcr-progres", "other-authority"
# The agreement under which registrations go from the registration authority to its offices
# (here and in tests/test_un_flows.py).
OFFICES_AGREEMENT = agreement(
    "registration-offices",
    ("registration-authority", "registration-office"),
    "registration",
    "identity|nationality|identifiers|family",
    "public-interest",
    title="Registration records shared between UNHCR offices",
)


def build(settings: Settings) -> Runtime:
    """Build a runtime that sends nothing (no relay): flags are decided before delivery."""
    return Runtime.build(
        settings.model_copy(update={"relay_enabled": False, "log_appender_enabled": False}),
        adapters=AdapterRegistry.from_factories({"progres": ProgresAdapter}),
    )


def register_system(runtime: Runtime, system_id: str) -> str:
    """Register a proGres system (never sent to: no relay); return its credential."""
    spec = SystemSpec(
        id=system_id,
        name=system_id,
        adapter="progres",
        endpoint="http://127.0.0.1:9/",
        jurisdiction="UNO",
    )
    return runtime.systems.register(spec)[1]


@pytest.fixture
def served(settings: Settings) -> Iterator[ServedGateway]:
    gateway = ServedGateway(build(settings)).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def credentials(served: ServedGateway) -> dict[str, str]:
    """Register the two authorities; return their credentials and the administrator's."""
    found = {"admin": served.runtime.settings.resolved_admin_token()}
    found["dpo"] = served.runtime.settings.resolved_dpo_token()
    for system_id in (AUTHORITY, OTHER):
        found[system_id] = register_system(served.runtime, system_id)
    return found

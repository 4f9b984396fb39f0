"""Shared fixtures for the adapter tests: the two built-in adapters, registered explicitly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.opencrvs import OpenCrvsAdapter
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway.canonical import BirthEvent
from gateway.demo.flow import demo_data

FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@pytest.fixture(scope="session")
def read_fixture() -> Any:
    """Return a reader of files under tests/fixtures/."""
    return fixture_bytes


@pytest.fixture(scope="session")
def registry() -> AdapterRegistry:
    return AdapterRegistry.from_factories({"progres": ProgresAdapter, "opencrvs": OpenCrvsAdapter})


@pytest.fixture(scope="session")
def progres(registry: AdapterRegistry) -> Any:
    return registry.get("progres")


@pytest.fixture(scope="session")
def opencrvs(registry: AdapterRegistry) -> Any:
    return registry.get("opencrvs")


@pytest.fixture
def notification() -> dict[str, Any]:
    """Return a fresh copy of the proGres birth-notification fixture to mutate."""
    doc: dict[str, Any] = json.loads(demo_data("progres-birth-notification.json"))
    return doc


@pytest.fixture(scope="session")
def birth(progres: Any) -> BirthEvent:
    event = progres.parse("birth-notification", demo_data("progres-birth-notification.json"))
    assert isinstance(event, BirthEvent)
    return event

"""The adapter registry: entry points, helpful misses, loud failures."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.contract import Adapter
from adapters.mapping import MappingSet
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry, installed_adapters
from gateway.errors import ConfigurationError, UnknownSystemError


def test_built_ins_are_found_through_entry_points() -> None:
    registry = installed_adapters()

    assert registry.names() == ["opencrvs", "progres"]
    assert isinstance(registry.get("progres"), Adapter)
    assert registry.mapping_version("opencrvs", "birth-notification") == (
        "opencrvs/birth-notification@1"
    )


def test_an_unknown_name_suggests_the_nearest() -> None:
    with pytest.raises(
        UnknownSystemError, match="No such adapter: 'progress'. Did you mean 'progres'"
    ):
        installed_adapters().get("progress")


def test_a_factory_that_raises_stops_start_up() -> None:
    def broken(mappings: MappingSet) -> Any:
        raise RuntimeError("cannot reach licence server")

    with pytest.raises(ConfigurationError, match="adapter 'progres' failed to build"):
        AdapterRegistry.from_factories({"progres": broken})


def test_an_object_that_is_not_an_adapter_stops_start_up() -> None:
    with pytest.raises(ConfigurationError, match="does not satisfy the Adapter contract"):
        AdapterRegistry.from_factories({"progres": lambda mappings: object()})


def test_an_adapter_under_another_name_stops_start_up() -> None:
    # proGres code with OpenCRVS's mapping specs: the specs name fields it does not know.
    with pytest.raises(ConfigurationError, match="mapping specs for adapter 'opencrvs'"):
        AdapterRegistry.from_factories({"opencrvs": ProgresAdapter})


def test_an_adapter_without_mappings_stops_start_up() -> None:
    with pytest.raises(ConfigurationError, match="no mappings folder for adapter 'nowhere'"):
        AdapterRegistry.from_factories({"nowhere": ProgresAdapter})

"""The adapter registry: entry points, helpful misses, loud failures."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.kit.contract import Adapter
from adapters.kit.mapping import load_mapping_set
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry, installed_adapters
from gateway.errors import ConfigurationError, UnknownSystemError


def test_built_ins_are_found_through_entry_points() -> None:
    registry = installed_adapters()

    assert {"opencrvs", "progres"} <= set(registry.names())
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
    def broken() -> Any:
        raise RuntimeError("cannot reach licence server")

    with pytest.raises(ConfigurationError, match="adapter 'progres' failed to build"):
        AdapterRegistry.from_factories({"progres": broken})


def test_an_object_that_is_not_an_adapter_stops_start_up() -> None:
    with pytest.raises(ConfigurationError, match="does not satisfy the Adapter contract"):
        AdapterRegistry.from_factories({"progres": lambda: object()})


def test_an_adapter_under_another_name_stops_start_up() -> None:
    with pytest.raises(ConfigurationError, match="does not satisfy the Adapter contract"):
        AdapterRegistry.from_factories({"opencrvs": ProgresAdapter})


def test_an_adapter_whose_package_ships_no_specs_stops_start_up() -> None:
    with pytest.raises(
        ConfigurationError, match="'nowhere' ships no mapping specs in adapters.kit"
    ):
        AdapterRegistry.from_factories(
            {"nowhere": lambda: load_mapping_set("adapters.kit", "nowhere")}
        )

"""The adapter registry: entry points in the `gateway.adapters` group, loaded once.

The gateway reaches adapters only through here. A broken plug-in (an import error, a factory
that raises, an object that is not an Adapter, mapping specs that fail their checks) stops
start-up with its name in the message; it is never logged and skipped, because a gateway
that silently lacks an adapter would reject or, worse, misroute exchanges later.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points

from adapters.kit.contract import Adapter, AdapterFactory
from gateway.errors import ConfigurationError, UnknownSystemError

GROUP = "gateway.adapters"


class AdapterRegistry:
    """Built adapters by name."""

    def __init__(self, adapters: Mapping[str, Adapter]) -> None:
        self._adapters = dict(adapters)

    @classmethod
    def from_factories(cls, factories: Mapping[str, AdapterFactory]) -> AdapterRegistry:
        """Build each adapter from its own specs; tests use this to register explicitly."""
        built: dict[str, Adapter] = {}
        for name, factory in factories.items():
            try:
                adapter = factory()
            except ConfigurationError:
                raise
            except Exception as exc:
                raise ConfigurationError(f"adapter {name!r} failed to build: {exc}") from exc
            if not isinstance(adapter, Adapter) or adapter.name != name:
                raise ConfigurationError(f"adapter {name!r} does not satisfy the Adapter contract")
            built[name] = adapter
        return cls(built)

    def get(self, name: str) -> Adapter:
        try:
            return self._adapters[name]
        except KeyError:
            raise UnknownSystemError(_no_such(name, self._adapters)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._adapters

    def names(self) -> list[str]:
        return sorted(self._adapters)

    def mapping_version(self, name: str, message_type: str) -> str:
        """Return 'adapter/message-type@version' of the spec used, for the exchange record."""
        return self._adapters[name].mappings.version(message_type)


def _no_such(name: str, known: Mapping[str, object]) -> str:
    by_lower = {k.lower(): k for k in known}
    close = [by_lower[c] for c in difflib.get_close_matches(name.lower(), list(by_lower), n=1)]
    hint = f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(sorted(known))}."
    return f"No such adapter: {name!r}.{hint}"


def _entry_point_factories() -> dict[str, AdapterFactory]:
    factories: dict[str, AdapterFactory] = {}
    for ep in entry_points(group=GROUP):
        try:
            factories[ep.name] = ep.load()
        except Exception as exc:
            raise ConfigurationError(
                f"adapter plug-in {ep.name!r} ({ep.value}) failed to load: {exc}"
            ) from exc
    if not factories:
        raise ConfigurationError(f"no adapters installed in entry-point group {GROUP!r}")
    return factories


@cache
def installed_adapters() -> AdapterRegistry:
    """Return the registry of every installed adapter, built once per process."""
    return AdapterRegistry.from_factories(_entry_point_factories())

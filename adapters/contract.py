"""The adapter contract.

An adapter translates one external system's wire format to and from canonical payloads, so
the gateway never branches on which system data came from or goes to. It is a Protocol, not
a base class: a third-party adapter needs only the right shape and an entry point in the
`gateway.adapters` group; it imports nothing from the gateway but `gateway.canonical`, this
contract and `adapters.mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from adapters.mapping import MappingSet
from gateway.canonical import Payload


@dataclass(frozen=True)
class Rendered:
    """A native message ready to deliver."""

    body: bytes
    content_type: str


@runtime_checkable
class Adapter(Protocol):
    """Parse a system's native messages into canonical payloads and render them back.

    `parse` validates against the system's own schema and raises `gateway.errors.ParseError`
    listing every problem, never only the first. `render` raises nothing for a valid payload:
    the mapping specs it uses were checked when the adapter was built.
    """

    name: str
    parses: frozenset[str]  # message types this adapter reads from its system
    renders: frozenset[str]  # message types this adapter writes for its system

    def parse(self, message_type: str, body: bytes) -> Payload: ...

    def render(self, message_type: str, payload: Payload) -> Rendered: ...


class AdapterFactory(Protocol):
    """What an entry point names: build an adapter from its checked mapping specs."""

    def __call__(self, mappings: MappingSet) -> Adapter: ...

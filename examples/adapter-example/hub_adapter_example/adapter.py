"""The maternity register adapter: a health facility's birth notices, and registrations back.

A worked example of an adapter outside the gateway's tree (docs/adapters.md walks through it).
It imports only the canonical model, the error tree and the adapter kit, ships its own mapping
specs, code lists, schemas and samples, and is found through its entry point.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.kit.contract import Rendered, unsupported
from adapters.kit.jsonbody import load_object
from adapters.kit.mapping import MappingSet, load_mapping_set
from gateway.canonical import BirthEvent, BirthRegistration, Payload
from gateway.errors import ConfigurationError, Problem

from hub_adapter_example import schema
from hub_adapter_example.parse import NoticeFields, parse_notice
from hub_adapter_example.render import NoticeWriter, render_confirmation
from hub_adapter_example.schema import BIRTH_NOTIFICATION, CONFIRMATION

MEDIA_TYPE = "application/json"
REQUIRED = {
    BIRTH_NOTIFICATION: [
        "birth.date",
        "birth.country",
        "person.ref",
        "person.identifiers.value",
        "person.names.given",
        "person.sex",
    ],
    CONFIRMATION: ["person.identifiers.value", "registration.registration_number"],
}
"""The canonical fields each message type cannot be read or written without."""


class MaternityAdapter:
    """Read a facility's birth notices; write notices and registration notes back to it."""

    name = "maternity"
    parses = frozenset({BIRTH_NOTIFICATION})
    renders = frozenset({BIRTH_NOTIFICATION, CONFIRMATION})
    media_types = frozenset({MEDIA_TYPE})

    def __init__(self, mappings: MappingSet | None = None) -> None:
        mappings = mappings or load_mapping_set(__package__ or "hub_adapter_example", self.name)
        scopes = {mt: schema.scopes(mt) for mt in self.parses | self.renders}
        self.native_fields = {mt: frozenset().union(*s.values()) for mt, s in scopes.items()}
        mappings.check(self.native_fields, REQUIRED)
        if misplaced := [p for mt, s in scopes.items() for p in _misplaced(mappings, mt, s)]:
            raise ConfigurationError(
                f"mapping specs for adapter {self.name!r} are invalid: " + "; ".join(misplaced)
            )
        self.mappings = mappings
        # Built once: attribute names and code list tables are the same for every exchange.
        self._fields = NoticeFields(mappings)
        self._writer = NoticeWriter(mappings)

    def parse(self, message_type: str, body: bytes) -> Payload:
        """Parse a register message; ParseError lists every problem found."""
        if message_type not in self.parses:
            raise unsupported(self.name, message_type, "parse")
        return parse_notice(self._fields, load_object(body))

    def render(self, message_type: str, payload: Payload) -> Rendered:
        """Render a canonical payload as a register message."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        if message_type == BIRTH_NOTIFICATION:
            if not isinstance(payload, BirthEvent):
                raise TypeError(
                    f"{message_type} renders a BirthEvent, not {type(payload).__name__}"
                )
            return Rendered(self._writer.render(payload), MEDIA_TYPE)
        if not isinstance(payload, BirthRegistration):
            raise TypeError(
                f"{message_type} renders a BirthRegistration, not {type(payload).__name__}"
            )
        return Rendered(render_confirmation(self.mappings, payload), MEDIA_TYPE)

    def check_rendered(self, message_type: str, body: bytes) -> Sequence[Problem]:
        """Return what is wrong with a rendered body against the register's schema."""
        return schema.rendered_problems(message_type, body)


def _misplaced(
    mappings: MappingSet, message_type: str, scopes: dict[str, frozenset[str]]
) -> list[str]:
    """Name every field mapped to an attribute of the wrong record (notice or person)."""
    found = []
    for field in mappings.spec(message_type).fields:
        root = field.canonical.split(".", 1)[0]
        if field.native not in scopes.get(root, frozenset()):
            found.append(f"{message_type}: {field.native!r} is not an attribute of {root}")
    return found

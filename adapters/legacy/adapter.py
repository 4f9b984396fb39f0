"""The legacy-registration adapter: rows of a retired offline registration tool's export.

Each row of a CSV or JSON lines export reaches the gateway as one native message, a flat
JSON object of the row's cells (gateway/bulk/ reads the file); this adapter reads it into a
canonical Registration. It also writes one back, so that a registration can be checked round
trip and an archive in the old shape can be kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from adapters.kit.contract import Rendered, unsupported
from adapters.kit.jsonbody import load_object
from adapters.kit.mapping import MappingSet, load_mapping_set
from adapters.legacy import schema
from adapters.legacy.row import Columns, parse_row, render_row
from gateway.canonical import Payload
from gateway.canonical.json import canonical_json
from gateway.canonical.registration import REGISTRATION, Registration
from gateway.errors import Problem

NAME = "legacy-registration"
MEDIA_TYPE = "application/json"
REQUIRED = {
    REGISTRATION: [
        "person.ref",
        "person.identifiers.value",
        "person.names.given",
        "person.sex",
        "registration_record.registered_on",
    ]
}


class LegacyRegistrationAdapter:
    """Read legacy export rows as registrations; write a registration back as a row."""

    name = NAME
    parses = frozenset({REGISTRATION})
    renders = frozenset({REGISTRATION})
    media_types = frozenset({MEDIA_TYPE})

    def __init__(self, mappings: MappingSet | None = None) -> None:
        mappings = mappings or load_mapping_set(__package__ or "adapters.legacy", NAME)
        # The export's columns, per message type: what a spec may name (the coverage report).
        self.native_fields: Mapping[str, frozenset[str]] = {REGISTRATION: schema.columns()}
        mappings.check(self.native_fields, REQUIRED)
        self.mappings = mappings
        self._columns = Columns(mappings)

    def parse(self, message_type: str, body: bytes) -> Payload:
        """Parse one row (a flat JSON object); ParseError lists every problem found."""
        if message_type not in self.parses:
            raise unsupported(self.name, message_type, "parse")
        return parse_row(self._columns, load_object(body))

    def render(self, message_type: str, payload: Payload) -> Rendered:
        """Render a registration as one row (a flat JSON object, keys sorted)."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        if not isinstance(payload, Registration):
            raise TypeError(f"{message_type} renders a Registration, not {type(payload).__name__}")
        return Rendered(canonical_json(render_row(self._columns, payload)), MEDIA_TYPE)

    def check_rendered(self, message_type: str, body: bytes) -> Sequence[Problem]:
        """Return every problem of a rendered row against the export's schema (none: valid)."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        return schema.problems(load_object(body))

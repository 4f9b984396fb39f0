"""The immigration adapter: an immigration authority's XML messages for individual documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from adapters.immigration import errors, schema
from adapters.immigration.fields import Fields
from adapters.immigration.parse import parse_message, schema_problems
from adapters.immigration.render import render_message
from adapters.immigration.schema import MESSAGE_TYPES
from adapters.kit.contract import Rendered, unsupported
from adapters.kit.mapping import MappingSet, load_mapping_set
from gateway.canonical import Payload
from gateway.canonical.documents import (
    DOCUMENT_REQUEST,
    DOCUMENT_STATUS,
    DOCUMENT_VALIDITY_ANSWER,
    DOCUMENT_VALIDITY_CHECK,
)
from gateway.errors import GatewayError, Problem

CONTENT_TYPE = "application/xml"
REQUIRED = {
    DOCUMENT_REQUEST: [
        "document_request.request_ref",
        "document_request.kind",
        "document_request.requesting_office",
        "person.ref",
        "person.names.given",
        "person.sex",
        "person.birth_date.date",
        "person.legal_status",
        "person.identifiers.scheme",
        "person.identifiers.value",
    ],
    DOCUMENT_STATUS: [
        "document_status.request_ref",
        "document_status.status",
        "person.ref",
        "person.identifiers.scheme",
        "person.identifiers.value",
    ],
    DOCUMENT_VALIDITY_CHECK: [
        "validity_check.check_ref",
        "validity_check.kind",
        "validity_check.number",
    ],
    DOCUMENT_VALIDITY_ANSWER: ["validity.check_ref", "validity.valid", "validity.kind"],
}


class ImmigrationAdapter:
    """Read and write document requests, their status, and document validity checks.

    Every message type goes both ways: the authority receives requests and checks and answers
    them, and a gateway on its side sends them. Bodies are validated against the XSD
    (schemas/immigration-1.xsd) after the hardened parse of adapters/kit/xml.py. Errors
    answered to its sources are the XSD's `exchangeError` (errors.py, WireErrors).
    """

    name = "immigration"
    parses = MESSAGE_TYPES
    renders = MESSAGE_TYPES
    media_types = frozenset({"application/xml", "text/xml"})

    def __init__(
        self, mappings: MappingSet | None = None, *, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        mappings = mappings or load_mapping_set(__package__ or "adapters.immigration", self.name)
        self.native_fields = schema.native_fields()
        mappings.check(self.native_fields, REQUIRED)
        schema.validator()  # a broken XSD fails here, at start-up
        self.mappings = mappings
        self._fields = {mt: Fields(mappings, mt) for mt in MESSAGE_TYPES}
        self._today = today

    def parse(self, message_type: str, body: bytes) -> Payload:
        """Parse an immigration message; ParseError lists every problem by element."""
        if message_type not in self.parses:
            raise unsupported(self.name, message_type, "parse")
        return parse_message(self._fields[message_type], message_type, body, self._today())

    def render(self, message_type: str, payload: Payload) -> Rendered:
        """Render a canonical payload as an immigration message valid against the XSD."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        body = render_message(self._fields[message_type], message_type, payload)
        return Rendered(body, CONTENT_TYPE)

    def check_rendered(self, message_type: str, body: bytes) -> list[Problem]:
        """Return every problem of a body against the XSD (RenderChecker); [] when valid."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        return schema_problems(message_type, body)

    def render_error(self, message_type: str | None, error: GatewayError) -> Rendered:
        """Write an error as an `exchangeError` in the XSD (WireErrors): the same for every type.

        Why: the authority's clients read its XML, not the gateway's JSON problem.
        """
        return Rendered(errors.render_error(error), CONTENT_TYPE)

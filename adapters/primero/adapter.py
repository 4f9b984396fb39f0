"""The Primero adapter: UNICEF's child-protection case management, Primero v2 (JSON API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from adapters.kit.contract import Receipt, Rendered, unsupported
from adapters.kit.jsonbody import load_object
from adapters.kit.mapping import MappingSet, load_mapping_set
from adapters.primero import schema
from adapters.primero.answer import read_case_answer
from adapters.primero.parse import CaseFields, parse_case
from adapters.primero.render import CaseWriter, render_case
from gateway.canonical import Payload
from gateway.canonical.referral import REFERRAL, Referral
from gateway.errors import ConfigurationError, Problem

REQUIRED = {
    # Every field render.py writes unguarded: a spec without one would fail each render.
    REFERRAL: [
        "referral.id",
        "referral.referred_on",
        "referral.urgency",
        "referral.reasons",
        "person.identifiers.value",
        "person.names.given",
        "person.names.family",
        "person.sex",
        "person.birth_date.date",
        "person.nationalities",
    ],
}
MEDIA_TYPE = "application/json"


class PrimeroAdapter:
    """Write child-protection referrals as Primero cases; read Primero cases as referrals."""

    name = "primero"
    parses = frozenset({REFERRAL})
    renders = frozenset({REFERRAL})
    media_types = frozenset({MEDIA_TYPE})

    def __init__(self, mappings: MappingSet | None = None) -> None:
        mappings = mappings or load_mapping_set(__package__ or "adapters.primero", self.name)
        natives = {REFERRAL: schema.native_fields()}
        mappings.check(natives, REQUIRED)
        if structural := {f.native for f in mappings.spec(REFERRAL).fields} & schema.STRUCTURE:
            raise ConfigurationError(
                f"mapping specs for adapter {self.name!r} are invalid: {sorted(structural)}"
                " are written by the adapter itself"
            )
        self.mappings = mappings
        self.native_fields = natives
        self._fields = CaseFields(mappings)
        self._writer = CaseWriter(mappings)

    def parse(self, message_type: str, body: bytes) -> Payload:
        """Parse a Primero case as a referral; ParseError lists every problem found."""
        if message_type not in self.parses:
            raise unsupported(self.name, message_type, "parse")
        return parse_case(self._fields, load_object(body))

    def render(self, message_type: str, payload: Payload) -> Rendered:
        """Render a child-protection referral as a Primero case creation."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        if not isinstance(payload, Referral):
            raise TypeError(f"{message_type} renders a Referral, not {type(payload).__name__}")
        return Rendered(render_case(self._writer, payload), MEDIA_TYPE)

    def check_rendered(self, message_type: str, body: bytes) -> Sequence[Problem]:
        """Check a rendered body against the case schema (the conformance kit's hook)."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        return schema.problems(load_object(body))

    def read_response(
        self, message_type: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> Receipt:
        """Read Primero's answer to a case creation: the case id is the reference."""
        return read_case_answer(status, headers, body)

"""The OpenCRVS adapter: the national civil registry (OpenCRVS v1.x, FHIR STU3)."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.kit.contract import Rendered, unsupported
from adapters.kit.jsonbody import load_object
from adapters.kit.mapping import MappingSet, load_mapping_set
from adapters.opencrvs import natives, probe, schema
from adapters.opencrvs.parse import CONFIRMATION, parse_confirmation
from adapters.opencrvs.profile import BIRTH_NOTIFICATION
from adapters.opencrvs.render import (
    WITHDRAWAL_NATIVES,
    check_withdrawal_spec,
    notification_problems,
    render,
    render_withdrawal,
)
from adapters.opencrvs.resources import Writer
from gateway.canonical import CONSENT_WITHDRAWAL, BirthEvent, ConsentWithdrawal, Payload
from gateway.errors import Problem

REQUIRED = {
    BIRTH_NOTIFICATION: [
        "birth.date",
        "birth.country",
        "person.names.given",
        "person.sex",
        "person.birth_date.date",
        "person.identifiers.scheme",
        "person.identifiers.value",
        "person.family_links.relationship",
    ],
    CONFIRMATION: [
        "registration.registration_number",
        "person.identifiers.scheme",
        "person.identifiers.value",
    ],
    CONSENT_WITHDRAWAL: list(WITHDRAWAL_NATIVES),
}
FIXED_NATIVES = {
    BIRTH_NOTIFICATION: natives.BIRTH_NOTIFICATION_NATIVES,
    CONFIRMATION: natives.CONFIRMATION_NATIVES,
    CONSENT_WITHDRAWAL: frozenset(WITHDRAWAL_NATIVES.values()),
}


class OpenCrvsAdapter:
    """Send birth notifications and consent withdrawals to OpenCRVS; read its registered-birth
    answers."""

    name = "opencrvs"
    parses = frozenset({CONFIRMATION})
    renders = frozenset({BIRTH_NOTIFICATION, CONSENT_WITHDRAWAL})
    media_types = frozenset({"application/json", "application/fhir+json"})

    def __init__(self, mappings: MappingSet | None = None) -> None:
        mappings = mappings or load_mapping_set(__package__ or "adapters.opencrvs", self.name)
        known = {
            mt: natives.known(fixed, mappings.specs.get(mt)) for mt, fixed in FIXED_NATIVES.items()
        }
        mappings.check(known, REQUIRED)
        for spec in mappings.specs.values():
            natives.natives_of(spec)  # a name that does not parse fails now, not mid-exchange
        probe.check_spec(mappings)  # so does a spec that sends values where STU3 allows none
        check_withdrawal_spec(mappings)  # and one that moves a field of the fixed Consent
        self.mappings = mappings
        self.native_fields = {mt: frozenset(names) for mt, names in known.items()}
        # Built once: element names and code list tables are the same for every exchange.
        self._writer = Writer(mappings, mappings.spec(BIRTH_NOTIFICATION))
        self._confirmation = natives.natives_of(mappings.spec(CONFIRMATION))

    def parse(self, message_type: str, body: bytes) -> Payload:
        """Parse an OpenCRVS message; ParseError lists every problem found."""
        if message_type not in self.parses:
            raise unsupported(self.name, message_type, "parse")
        return parse_confirmation(self.mappings, self._confirmation, load_object(body))

    def render(self, message_type: str, payload: Payload) -> Rendered:
        """Render a canonical payload as an OpenCRVS message."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        if message_type == CONSENT_WITHDRAWAL:
            if not isinstance(payload, ConsentWithdrawal):
                raise TypeError(
                    f"{message_type} renders a ConsentWithdrawal, not {type(payload).__name__}"
                )
            return Rendered(render_withdrawal(payload), "application/json")
        if not isinstance(payload, BirthEvent):
            raise TypeError(f"{message_type} renders a BirthEvent, not {type(payload).__name__}")
        return Rendered(render(self._writer, payload), "application/json")

    def check_rendered(self, message_type: str, body: bytes) -> Sequence[Problem]:
        """Check a rendered body against OpenCRVS's own schemas (the conformance kit's hook)."""
        doc = load_object(body)
        if message_type == BIRTH_NOTIFICATION:
            return notification_problems(doc)
        return schema.problems(message_type, doc)

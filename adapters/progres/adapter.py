"""The proGres adapter: UNHCR's registration system, proGres v4 (Dynamics CRM JSON)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from adapters.kit.contract import FetchRequest, Rendered, unsupported
from adapters.kit.jsonbody import load_object
from adapters.kit.mapping import MappingSet, load_mapping_set
from adapters.progres import fetch, schema
from adapters.progres.parse import SpecFields, parse_birth_notification
from adapters.progres.records import scopes
from adapters.progres.referral import ReferralWriter, parse_referral
from adapters.progres.registration import RegistrationWriter, parse_registration
from adapters.progres.render import render_confirmation, render_withdrawal
from adapters.progres.schema import BIRTH_NOTIFICATION, CONFIRMATION, WITHDRAWAL
from gateway.canonical import (
    SPECIFIC_REQUEST,
    BirthRegistration,
    ConsentWithdrawal,
    Identifier,
    IndividualRecord,
    Payload,
)
from gateway.canonical.referral import REFERRAL, Referral
from gateway.canonical.registration import REGISTRATION, Registration
from gateway.errors import ConfigurationError, Problem

REQUIRED = {
    BIRTH_NOTIFICATION: [
        "birth.date",
        "birth.country",
        "person.ref",
        "person.identifiers.value",
        "person.family_links.relationship",
        "person.names.given",
        "person.sex",
    ],
    CONFIRMATION: ["person.identifiers.value", "registration.registration_number"],
    WITHDRAWAL: ["withdrawal.consent_id", "withdrawal.exchange_ids", "withdrawal.withdrawn_at"],
    REGISTRATION: ["registration_record.registered_on", "person.names.given", "person.sex"],
    REFERRAL: ["referral.id", "referral.kind", "referral.referred_on", "person.ref", "person.sex"],
}
RECORD_ROOTS = {REGISTRATION: "registration_record", REFERRAL: "referral"}
"""Message types about individual records (records.py), by the canonical root of their fields."""


class ProgresAdapter:
    """Read proGres birth notifications; write back registrations and consent withdrawals."""

    name = "progres"
    parses = frozenset({BIRTH_NOTIFICATION, REGISTRATION, REFERRAL})
    renders = frozenset({CONFIRMATION, WITHDRAWAL, REGISTRATION, REFERRAL})
    fetches = frozenset({SPECIFIC_REQUEST})  # one individual, by proGres id (fetch.py)
    media_types = frozenset({"application/json"})

    def __init__(
        self, mappings: MappingSet | None = None, *, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        mappings = mappings or load_mapping_set(__package__ or "adapters.progres", self.name)
        scoped = {
            mt: scopes(mt, RECORD_ROOTS[mt]) if mt in RECORD_ROOTS else schema.native_scopes(mt)
            for mt in self.parses | self.renders
        }
        natives = {mt: frozenset().union(*s.values()) for mt, s in scoped.items()}
        mappings.check(natives, REQUIRED)
        misplaced = [p for mt, s in scoped.items() for p in schema.misplaced(mappings.spec(mt), s)]
        if misplaced:
            raise ConfigurationError(
                f"mapping specs for adapter {self.name!r} are invalid: " + "; ".join(misplaced)
            )
        self.mappings = mappings
        self.native_fields = natives
        self._notification = SpecFields(mappings)
        self._records = {mt: SpecFields(mappings, mt) for mt in RECORD_ROOTS}
        self._registrations = RegistrationWriter(mappings)
        self._referrals = ReferralWriter(mappings)
        self._today = today

    def parse(self, message_type: str, body: bytes) -> Payload:
        """Parse a proGres message; ParseError lists every problem found."""
        if message_type not in self.parses:
            raise unsupported(self.name, message_type, "parse")
        if message_type == REGISTRATION:
            return parse_registration(self._records[REGISTRATION], load_object(body), self._today())
        if message_type == REFERRAL:
            return parse_referral(self._records[REFERRAL], load_object(body), self._today())
        return parse_birth_notification(self._notification, load_object(body), self._today)

    def render(self, message_type: str, payload: Payload) -> Rendered:
        """Render a canonical payload as a proGres message."""
        if message_type not in self.renders:
            raise unsupported(self.name, message_type, "render")
        if message_type in RECORD_ROOTS:
            return Rendered(self._render_record(message_type, payload), "application/json")
        if message_type == WITHDRAWAL:
            if not isinstance(payload, ConsentWithdrawal):
                raise TypeError(
                    f"{message_type} renders a ConsentWithdrawal, not {type(payload).__name__}"
                )
            return Rendered(render_withdrawal(self.mappings, payload), "application/json")
        if not isinstance(payload, BirthRegistration):
            raise TypeError(
                f"{message_type} renders a BirthRegistration, not {type(payload).__name__}"
            )
        return Rendered(render_confirmation(self.mappings, payload), "application/json")

    def check_rendered(self, message_type: str, body: bytes) -> Sequence[Problem]:
        """Check a rendered body against proGres's schema (the conformance kit's hook)."""
        return schema.problems(message_type, load_object(body))

    def _render_record(self, message_type: str, payload: Payload) -> bytes:
        if message_type == REGISTRATION and isinstance(payload, Registration):
            return self._registrations.render(payload)
        if message_type == REFERRAL and isinstance(payload, Referral):
            return self._referrals.render(payload)
        raise TypeError(f"{message_type} does not render a {type(payload).__name__}")

    def fetch_request(self, message_type: str, identifiers: Sequence[Identifier]) -> FetchRequest:
        """Return the lookup of one individual by proGres id (adapters/progres/fetch.py)."""
        if message_type not in self.fetches:
            raise unsupported(self.name, message_type, "fetch")
        return fetch.lookup_request(identifiers)

    def parse_fetched(
        self, message_type: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> IndividualRecord | None:
        """Read proGres's answer to a lookup: the individual, or None if it holds none."""
        if message_type not in self.fetches:
            raise unsupported(self.name, message_type, "fetch")
        return fetch.read_lookup(self._notification, status, headers, body, self._today())

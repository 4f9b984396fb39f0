"""The proGres adapter: UNHCR's registration system, proGres v4 (Dynamics CRM JSON)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from adapters.contract import FetchRequest, Rendered
from adapters.jsonbody import load_object
from adapters.mapping import MappingSet
from adapters.progres import fetch, schema
from adapters.progres.parse import NotificationFields, parse_birth_notification
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
from gateway.errors import ConfigurationError, EnvelopeError, Problem

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
}


class ProgresAdapter:
    """Read proGres birth notifications; write back registrations and consent withdrawals."""

    name = "progres"
    parses = frozenset({BIRTH_NOTIFICATION})
    renders = frozenset({CONFIRMATION, WITHDRAWAL})
    fetches = frozenset({SPECIFIC_REQUEST})  # one individual, by proGres id (fetch.py)
    media_types = frozenset({"application/json"})

    def __init__(
        self, mappings: MappingSet, *, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        scopes = {mt: schema.native_scopes(mt) for mt in self.parses | self.renders}
        natives = {mt: frozenset().union(*s.values()) for mt, s in scopes.items()}
        mappings.check(natives, REQUIRED)
        misplaced = [p for mt, s in scopes.items() for p in schema.misplaced(mappings.spec(mt), s)]
        if misplaced:
            raise ConfigurationError(
                f"mapping specs for adapter {self.name!r} are invalid: " + "; ".join(misplaced)
            )
        self._mappings = mappings
        self._notification = NotificationFields(mappings)
        self._today = today

    def parse(self, message_type: str, body: bytes) -> Payload:
        """Parse a proGres message; ParseError lists every problem found."""
        if message_type not in self.parses:
            raise _unsupported(message_type, "parse")
        return parse_birth_notification(self._notification, load_object(body), self._today)

    def render(self, message_type: str, payload: Payload) -> Rendered:
        """Render a canonical payload as a proGres message."""
        if message_type not in self.renders:
            raise _unsupported(message_type, "render")
        if message_type == WITHDRAWAL:
            if not isinstance(payload, ConsentWithdrawal):
                raise TypeError(
                    f"{message_type} renders a ConsentWithdrawal, not {type(payload).__name__}"
                )
            return Rendered(render_withdrawal(self._mappings, payload), "application/json")
        if not isinstance(payload, BirthRegistration):
            raise TypeError(
                f"{message_type} renders a BirthRegistration, not {type(payload).__name__}"
            )
        return Rendered(render_confirmation(self._mappings, payload), "application/json")

    def fetch_request(self, message_type: str, identifiers: Sequence[Identifier]) -> FetchRequest:
        """Return the lookup of one individual by proGres id (adapters/progres/fetch.py)."""
        if message_type not in self.fetches:
            raise _unsupported(message_type, "fetch")
        return fetch.lookup_request(identifiers)

    def parse_fetched(
        self, message_type: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> IndividualRecord | None:
        """Read proGres's answer to a lookup: the individual, or None if it holds none."""
        if message_type not in self.fetches:
            raise _unsupported(message_type, "fetch")
        return fetch.read_lookup(self._notification, status, headers, body, self._today())


def _unsupported(message_type: str, verb: str) -> EnvelopeError:
    problem = Problem("message_type", f"progres does not {verb} {message_type!r}")
    return EnvelopeError(f"unsupported message type for progres: {message_type!r}", [problem])

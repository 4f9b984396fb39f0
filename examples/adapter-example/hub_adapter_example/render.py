"""Write canonical payloads as maternity register messages, through the mapping specs.

Why every body is checked against the schema before it leaves: a body the register would
refuse is a bug here or in a spec, and must fail in the gateway, loudly, not at the facility.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.kit.mapping import MappingSet
from gateway.canonical import BirthEvent, BirthRegistration, Person, identifier_of
from gateway.canonical.json import canonical_json
from gateway.errors import GatewayError, InvalidInput, Problem

from hub_adapter_example import schema
from hub_adapter_example.parse import SCHEME
from hub_adapter_example.schema import BIRTH_NOTIFICATION, CONFIRMATION


def _instant(value: dt.datetime) -> str:
    """Format a timestamp as ISO 8601, in UTC with a Z when its zone is known."""
    if value.tzinfo is None:
        return value.isoformat(timespec="seconds")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _patient_number(person: Person, where: str) -> str:
    """Return the register's own number for a person; without it the message lands on nobody."""
    identifier = identifier_of(person, SCHEME)
    if identifier is None:
        problem = Problem(f"{where}.identifiers", f"has no {SCHEME} identifier")
        raise InvalidInput("the maternity register does not know this person", [problem])
    return identifier.value


def _checked(message_type: str, body: dict[str, Any]) -> bytes:
    if found := schema.problems(message_type, body):  # a bug here, never the sender's fault
        raise GatewayError(f"rendered maternity {message_type} breaks its schema", found)
    return canonical_json(body)


class NoticeWriter:
    """Write birth notices; attribute names and code list tables resolved once."""

    def __init__(self, mappings: MappingSet) -> None:
        spec = mappings.spec(BIRTH_NOTIFICATION)
        self.natives = {f.canonical: f.native for f in spec.fields}
        self.encode = {f.canonical: mappings.encoder(spec, f.canonical) for f in spec.fields}

    def render(self, event: BirthEvent) -> bytes:
        """Return the notice's body; its bytes depend only on the event (sorted keys)."""
        n = self.natives
        body: dict[str, Any] = {
            n["birth.date"]: event.date.isoformat(),
            n["birth.country"]: self.encode["birth.country"](event.country),
            n["birth.multiple_birth"]: event.multiple_birth,
            "newborn": self.person(event.child, "child"),
        }
        if event.place:
            body[n["birth.place"]] = event.place
        for role, person in (("mother", event.mother), ("father", event.father)):
            if person is not None:
                body[role] = self.person(person, role)
        return _checked(BIRTH_NOTIFICATION, body)

    def person(self, person: Person, where: str) -> dict[str, Any]:
        n = self.natives
        if not person.names:  # the register requires a name: minimised away, it cannot be sent
            problem = Problem(f"{where}.names", "has no name")
            raise InvalidInput("the maternity register needs every person's name", [problem])
        name = person.names[0]
        record: dict[str, Any] = {
            n["person.identifiers.value"]: _patient_number(person, where),
            n["person.names.given"]: list(name.given),
            n["person.sex"]: self.encode["person.sex"](person.sex.value),
        }
        if name.family:
            record[n["person.names.family"]] = name.family
        if person.birth_date:
            record[n["person.birth_date.date"]] = person.birth_date.date.isoformat()
            record[n["person.birth_date.estimated"]] = person.birth_date.estimated
        if person.nationalities:
            encode = self.encode["person.nationalities"]
            record[n["person.nationalities"]] = [encode(c) for c in person.nationalities]
        return record


def render_confirmation(mappings: MappingSet, registration: BirthRegistration) -> bytes:
    """Return the note for the newborn's record; its bytes depend only on the registration."""
    n = {f.canonical: f.native for f in mappings.spec(CONFIRMATION).fields}
    body: dict[str, Any] = {
        n["person.identifiers.value"]: _patient_number(registration.child, "child"),
        n["registration.registration_number"]: registration.registration_number,
    }
    if registration.tracking_id:
        body[n["registration.tracking_id"]] = registration.tracking_id
    if registration.registered_at:
        body[n["registration.registered_at"]] = _instant(registration.registered_at)
    return _checked(CONFIRMATION, body)

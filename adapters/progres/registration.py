"""proGres individual registrations: read into a canonical Registration, and written back.

Shape (attribute names come from adapters/progres/mappings/individual-registration.yaml):

    {"progres_registrationdate": "2026-11-20", "progres_office": "KEN-KKM",
     "individual": {"progres_individualid": "KKM-26-004410", "progres_givenname": ..., ...},
     "household": [{"progres_individualid": ..., "progres_relationshiptofp": 125080002, ...}]}

The registered individual is the registration group's focal point; each member's
relationship to them becomes the focal point's family link to the member. A registration
made elsewhere (a legacy system, another office) may name nobody by proGres id yet: proGres
gives the ids, so the gateway writes only those it knows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.kit.mapping import MappingSet
from adapters.progres import schema
from adapters.progres.parse import Reader, SpecFields, built
from adapters.progres.records import HOUSEHOLD, INDIVIDUAL, PersonWriter
from gateway.canonical.json import canonical_json
from gateway.canonical.registration import REGISTRATION, Registration
from gateway.errors import InvalidInput

FOCAL_REF = "individual"  # refs of persons without a proGres id, inside one message
MEMBER_REF = "member-{}"


def parse_registration(fields: SpecFields, doc: dict[str, Any], today: dt.date) -> Registration:
    """Validate a decoded registration against its schema and meaning; build it."""
    found = schema.problems(REGISTRATION, doc)
    reader = Reader(fields, today)
    data: dict[str, Any] = {"office": reader.raw(doc, "registration_record.office")}
    data["registered_on"] = reader.date(doc, [], "registration_record.registered_on")
    focal = doc.get(INDIVIDUAL)
    if isinstance(focal, dict):
        _, person = reader.person(focal, [INDIVIDUAL])
        person["ref"] = person["ref"] or FOCAL_REF
        links, household = [], []
        for i, record in enumerate(reader.items(doc, HOUSEHOLD)):
            if not isinstance(record, dict):
                continue
            role, member = reader.person(record, [HOUSEHOLD, i])
            member["ref"] = member["ref"] or MEMBER_REF.format(i)
            household.append(member)
            if role:
                links.append({"relationship": role, "person_ref": member["ref"]})
        person["family_links"] = links
        data.update(person=person, household=household)
        refs = [p["ref"] for p in [person, *household]]
        if len(refs) != len(set(refs)):
            reader.add([HOUSEHOLD], "two individuals share one individual id")
    given = {k: v for k, v in data.items() if v is not None}
    return built(Registration, REGISTRATION, given, found + reader.problems)


class RegistrationWriter:
    """The registration spec resolved once, with the adapter."""

    def __init__(self, mappings: MappingSet) -> None:
        spec = mappings.spec(REGISTRATION)
        self.natives = {f.canonical: f.native for f in spec.fields}
        self.persons = PersonWriter(mappings, spec)
        self.relationship = mappings.encoder(spec, "person.family_links.relationship")

    def render(self, registration: Registration) -> bytes:
        """Return the registration's body; its bytes depend only on it (sorted keys)."""
        n = self.natives
        body: dict[str, Any] = {
            n["registration_record.registered_on"]: registration.registered_on.isoformat(),
            INDIVIDUAL: self.persons.record(registration.person),
        }
        if registration.office and "registration_record.office" in n:
            body[n["registration_record.office"]] = registration.office
        roles = {link.person_ref: link.relationship for link in registration.person.family_links}
        members = []
        for member in registration.household:
            record = self.persons.record(member)
            if member.ref in roles:
                record[n["person.family_links.relationship"]] = self.relationship(roles[member.ref])
            members.append(record)
        if members:
            body[HOUSEHOLD] = members
        found = schema.problems(REGISTRATION, body)
        if found:  # e.g. a name longer than proGres holds: located, never echoed
            raise InvalidInput(f"registration does not fit a proGres {REGISTRATION}", found)
        return canonical_json(body)

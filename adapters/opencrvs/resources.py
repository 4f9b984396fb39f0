"""Build the FHIR resources of a birth notification, element names taken from the spec.

Only canonical fields the spec maps are written: leaving a field out of the spec is how a
deployment stops sending it.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.kit.mapping import MappingSet, MappingSpec
from adapters.opencrvs.natives import Native, natives_of
from gateway.canonical import BirthEvent, Person, Relationship

ISO_3166 = "urn:iso:std:iso:3166"
RELATIONSHIP_TYPES = "http://hl7.org/fhir/ValueSet/relatedperson-relationshiptype"
# OpenCRVS keys names by language in HumanName.use (it reads the "en" name), not by the
# STU3 name-use codes; see README.md.
NAME_LANGUAGE = "en"


_FHIR_STRING = re.compile(r"[ \r\n\t\S]+")


def fhir_string(text: str) -> bool:
    """Tell whether FHIR can carry a string unchanged (no other whitespace than space, tab, EOL)."""
    return _FHIR_STRING.fullmatch(text) is not None


def clean(text: str | None) -> str | None:
    """Collapse whitespace runs; FHIR strings may not be empty or hold other whitespace."""
    collapsed = " ".join(text.split()) if text else ""
    return collapsed or None


def put(resource: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set a value at an element path, creating the enclosing elements."""
    for key in path[:-1]:
        resource = resource.setdefault(key, {})
    resource[path[-1]] = value


class Writer:
    """Write canonical values into resources through one mapping spec."""

    def __init__(self, mappings: MappingSet, spec: MappingSpec) -> None:
        self.natives: dict[str, Native] = natives_of(spec)
        self._encoders = {f.canonical: mappings.encoder(spec, f.canonical) for f in spec.fields}

    def encode(self, canonical: str, value: str) -> str:
        """Translate a canonical code through the field's code list."""
        return str(self._encoders[canonical](value))

    def patient(self, person: Person, birth: BirthEvent | None = None) -> dict[str, Any]:
        """Return a Patient; `birth` is given for the child, whose birth facts it carries."""
        patient: dict[str, Any] = {"resourceType": "Patient", "active": True}
        self._identifiers(patient, person)
        self._names(patient, person)
        if sex := self.natives.get("person.sex"):
            put(patient, sex.path, self.encode("person.sex", person.sex))
        born = person.birth_date.date if person.birth_date else birth.date if birth else None
        if (field := self.natives.get("person.birth_date.date")) and born:
            put(patient, field.path, born.isoformat())
        if (field := self.natives.get("birth.multiple_birth")) and birth:
            put(patient, field.path, birth.multiple_birth)
        if (field := self.natives.get("person.nationalities")) and person.nationalities:
            patient[field.path[0]] = [
                self._nationality(field, code) for code in person.nationalities
            ]
        return patient

    def _identifiers(self, patient: dict[str, Any], person: Person) -> None:
        system, value = (
            self.natives.get("person.identifiers.scheme"),
            self.natives.get("person.identifiers.value"),
        )
        if not (system and value):
            return
        items = []
        for identifier in person.identifiers:
            try:
                uri = self.encode("person.identifiers.scheme", identifier.scheme)
            except KeyError:
                continue  # why: a scheme without an agreed system URI means nothing to the registry
            if fhir_string(identifier.value):  # why not clean it: a changed value links nothing
                items.append({system.key: uri, value.key: identifier.value})
        if items:
            patient[system.path[0]] = items

    def _names(self, patient: dict[str, Any], person: Person) -> None:
        given, family = (
            self.natives.get("person.names.given"),
            self.natives.get("person.names.family"),
        )
        container = given or family
        if container is None:
            return
        names = []
        for name in person.names:
            human: dict[str, Any] = {"use": NAME_LANGUAGE}
            given_names = [g for g in map(clean, name.given) if g]
            if given and given_names:
                human[given.key] = given_names
            if family and (family_name := clean(name.family)):
                human[family.key] = family_name
            if len(human) > 1:
                names.append(human)
        if names:
            patient[container.path[0]] = names

    def _nationality(self, field: Native, code: str) -> dict[str, Any]:
        coding = {"system": ISO_3166, "code": self.encode("person.nationalities", code)}
        return {
            "url": field.selector,
            "extension": [{"url": "code", "valueCodeableConcept": {"coding": [coding]}}],
        }

    def relationship(self, role: Relationship) -> str:
        """Return OpenCRVS's code for a relationship (MOTHER, FATHER, ...)."""
        return self.encode("person.family_links.relationship", role)

    def informant(self, role: Relationship, person_url: str) -> dict[str, Any]:
        """Return the informant; as in OpenCRVS, `patient` points at the informant's Patient."""
        field = self.natives["person.family_links.relationship"]
        informant: dict[str, Any] = {
            "resourceType": "RelatedPerson",
            "patient": {"reference": person_url},
        }
        coding = {"system": RELATIONSHIP_TYPES, "code": self.relationship(role)}
        put(informant, field.path, {"coding": [coding]})
        return informant

    def encounter(self, birth: BirthEvent, child_url: str, location_url: str) -> dict[str, Any]:
        """Return the birth Encounter."""
        encounter: dict[str, Any] = {
            "resourceType": "Encounter",
            "status": "finished",
            "subject": {"reference": child_url},
            "location": [{"location": {"reference": location_url}}],
        }
        if field := self.natives.get("birth.date"):
            put(encounter, field.path, birth.date.isoformat())
        return encounter

    def location(self, birth: BirthEvent) -> dict[str, Any]:
        """Return the place of birth as a Location inside the bundle."""
        location: dict[str, Any] = {"resourceType": "Location", "mode": "instance"}
        if (field := self.natives.get("birth.place")) and (place := clean(birth.place)):
            put(location, field.path, place)
        if field := self.natives.get("birth.country"):
            put(location, field.path, self.encode("birth.country", birth.country))
        return location

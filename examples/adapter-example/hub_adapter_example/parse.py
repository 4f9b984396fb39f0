"""Read a maternity register birth notice into a canonical BirthEvent, listing every problem.

Shape (attribute names come from the mapping spec, mappings/birth-notification.yaml):

    {"notice_number": "BN-KAK1-2025-00042", "date_of_delivery": "2025-03-02",
     "country_of_delivery": "KEN", ...,
     "newborn": {"patient_number": ..., "given_names": [...], "sex": "F", ...},
     "mother": {...}, "father": {...}}

The schema says what is malformed; this module says what the values mean (a code the code
list lacks, a birth with no parent). Problems name the attribute, never its value.
"""

from __future__ import annotations

from typing import Any

from adapters.kit.jsonschema_problems import canonical_problems, pointer
from adapters.kit.mapping import Decoder, MappingSet
from gateway.canonical import BirthEvent
from gateway.errors import ParseError, Problem
from pydantic import ValidationError

from hub_adapter_example import schema
from hub_adapter_example.schema import BIRTH_NOTIFICATION, ROLES

SCHEME = "maternity-patient"
"""The identifier scheme of the register's patient numbers."""


class NoticeFields:
    """The notice spec resolved once, with the adapter: each canonical field's attribute and
    the code list translator that reads it."""

    def __init__(self, mappings: MappingSet) -> None:
        spec = mappings.spec(BIRTH_NOTIFICATION)
        self.natives = {f.canonical: f.native for f in spec.fields}
        self.decoders: dict[str, Decoder] = {
            f.canonical: mappings.decoder(spec, f.canonical) for f in spec.fields
        }


def parse_notice(fields: NoticeFields, doc: dict[str, Any]) -> BirthEvent:
    """Return the notice as a BirthEvent, or raise ParseError listing every problem."""
    found = schema.problems(BIRTH_NOTIFICATION, doc)
    if found:
        raise ParseError("birth notice does not match the register's schema", found)
    reader = _Reader(fields)
    persons = {role: reader.person(doc[role], role) for role in ROLES if role in doc}
    country = reader.code(doc, (), "birth.country")
    if reader.problems:
        raise ParseError("birth notice holds values the gateway cannot read", reader.problems)
    try:
        return BirthEvent.model_validate(
            {
                "child": persons["newborn"],
                "mother": persons.get("mother"),
                "father": persons.get("father"),
                "date": reader.value(doc, "birth.date"),
                "place": reader.value(doc, "birth.place"),
                "country": country,
                "multiple_birth": reader.value(doc, "birth.multiple_birth") or False,
            }
        )
    except ValidationError as exc:
        raise ParseError("birth notice is not a valid birth", canonical_problems(exc)) from exc


class _Reader:
    """Read values through the spec's attribute names, noting every problem on the way."""

    def __init__(self, fields: NoticeFields) -> None:
        self.natives = fields.natives
        self.decoders = fields.decoders
        self.problems: list[Problem] = []

    def value(self, record: dict[str, Any], canonical: str) -> Any:
        native = self.natives.get(canonical)
        return None if native is None else record.get(native)

    def code(self, record: dict[str, Any], base: tuple[str, ...], canonical: str) -> Any:
        """Decode a coded attribute through its code list; an unknown code is a problem."""
        raw = self.value(record, canonical)
        if raw is None:
            return None
        try:
            return self.decoders[canonical](raw)
        except KeyError:
            self.problems.append(Problem(pointer([*base, self.natives[canonical]]), "unknown code"))
            return None

    def codes(self, record: dict[str, Any], base: tuple[str, ...], canonical: str) -> list[Any]:
        native = self.natives.get(canonical)
        found = []
        for i, raw in enumerate(record.get(native, []) if native else []):
            try:
                found.append(self.decoders[canonical](raw))
            except KeyError:
                self.problems.append(Problem(pointer([*base, native or "", i]), "unknown code"))
        return found

    def person(self, record: dict[str, Any], role: str) -> dict[str, Any]:
        """Return one person record as canonical data; the BirthEvent validates it."""
        number = self.value(record, "person.ref")
        born = self.value(record, "person.birth_date.date")
        name = {
            "given": self.value(record, "person.names.given"),
            "family": self.value(record, "person.names.family"),
        }
        return {
            "ref": number,
            "names": [name],
            "sex": self.code(record, (role,), "person.sex") or "unknown",
            "birth_date": None
            if born is None
            else {
                "date": born,
                "estimated": self.value(record, "person.birth_date.estimated") or False,
            },
            "nationalities": self.codes(record, (role,), "person.nationalities"),
            "identifiers": [{"scheme": SCHEME, "value": number}],
        }

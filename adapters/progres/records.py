"""Individual records shared by the registration and referral messages: read and written
through one spec per message type, with the notification's reader (parse.py).

Why one reader: an individual is the same proGres entity in a birth notification, a lookup
answer, a registration and a referral; reading it twice would let the four drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.kit.jsonschema_problems import load_schema
from adapters.kit.mapping import Encoder, MappingSet, MappingSpec
from adapters.progres import schema
from adapters.progres.parse import LOOKUP_ISO, SCHEME
from adapters.progres.schema import DOCUMENTS
from gateway.canonical import Person, identifier_of

INDIVIDUAL = "individual"  # the record of the individual a message is about
HOUSEHOLD = "household"  # the other members of a registration group
STRUCTURE = frozenset({INDIVIDUAL, HOUSEHOLD, DOCUMENTS})
LOOKUP_ENTITY = {"LogicalName": "progres_country"}


def scopes(message_type: str, root: str) -> dict[str, frozenset[str]]:
    """Return, per canonical prefix, the attributes that may carry its fields."""
    doc = load_schema(schema.PACKAGE, message_type)
    defs = doc["$defs"]
    individual = set(defs[INDIVIDUAL]["properties"]) | set(
        defs.get("member", {}).get("properties", {})
    )
    return {
        root: frozenset(set(doc["properties"]) - STRUCTURE),
        "person": frozenset(individual - STRUCTURE),
        "person.documents": frozenset(defs["document"]["properties"]),
    }


class PersonWriter:
    """Write canonical persons as proGres individual records, through one spec."""

    def __init__(self, mappings: MappingSet, spec: MappingSpec) -> None:
        self.natives = {f.canonical: f.native for f in spec.fields if f.canonical != "person.ref"}
        self.encoders: dict[str, Encoder] = {
            f.canonical: mappings.encoder(spec, f.canonical) for f in spec.fields
        }

    def _lookup(self, canonical: str, code: str) -> dict[str, Any]:
        return {**LOOKUP_ENTITY, LOOKUP_ISO: str(self.encoders[canonical](code))}

    def _codes(self, canonical: str, codes: list[str]) -> list[str | int]:
        """Encode codes, leaving out any the option set lacks (e.g. a non-UNHCR need)."""
        found = []
        for code in codes:
            try:
                found.append(self.encoders[canonical](code))
            except KeyError:
                continue
        return found

    def record(self, person: Person) -> dict[str, Any]:
        """Return a person's individual record: the attributes the spec maps and it holds."""
        out: dict[str, Any] = {}
        put = _putter(self.natives, out)
        if identifier := identifier_of(person, SCHEME):
            put("person.identifiers.value", identifier.value)
        if person.names:
            put("person.names.given", " ".join(person.names[0].given))
            put("person.names.family", person.names[0].family)
        put("person.sex", self.encoders["person.sex"](person.sex))
        if person.birth_date:
            put("person.birth_date.date", person.birth_date.date.isoformat())
            put("person.birth_date.estimated", person.birth_date.estimated)
        for field in ("nationalities", "former_habitual_residences", "feared_countries"):
            canonical = f"person.{field}"
            codes = getattr(person, field)
            put(canonical, [self._lookup(canonical, c) for c in codes] if codes else None)
        if person.country_of_origin:
            origin = self._lookup("person.country_of_origin", person.country_of_origin)
            put("person.country_of_origin", origin)
        put("person.stateless", person.stateless or None)
        put("person.specific_needs", self._codes("person.specific_needs", person.specific_needs))
        if person.legal_status:
            put("person.legal_status", self.encoders["person.legal_status"](person.legal_status))
        if person.documents:
            out[DOCUMENTS] = [self._document(d) for d in person.documents]
        return out

    def _document(self, document: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        put = _putter(self.natives, out)
        put("person.documents.type", document.type)
        put("person.documents.number", document.number)
        if document.issuing_country:
            country = self._lookup("person.documents.issuing_country", document.issuing_country)
            put("person.documents.issuing_country", country)
        if document.expiry:
            put("person.documents.expiry", document.expiry.isoformat())
        return out


def _putter(natives: Mapping[str, str], out: dict[str, Any]) -> Any:
    """Return put(canonical, value): set the mapped attribute unless unmapped or empty."""

    def put(canonical: str, value: Any) -> None:
        if canonical in natives and value not in (None, [], ""):
            out[natives[canonical]] = value

    return put

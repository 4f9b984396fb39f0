"""Write a canonical Referral as a border system's referral (the shape parse.py reads).

A reason or specific need the border system's code lists lack is not written: the system
holds only its own codes, and the receiving authority learns the rest in its own interview.
Every body is checked against the schema before it leaves.
"""

from __future__ import annotations

from typing import Any

from adapters.border import schema
from adapters.border.schema import DOCUMENTS, OTHER_NAMES, PERSON, PERSON_IDS
from adapters.kit.mapping import Encoder, MappingSet
from gateway.canonical.json import canonical_json
from gateway.canonical.person import IdentityDocument, Person, PersonName
from gateway.canonical.referral import REFERRAL, Referral
from gateway.errors import InvalidInput


class ReferralWriter:
    """The referral spec resolved once, with the adapter."""

    def __init__(self, mappings: MappingSet) -> None:
        spec = mappings.spec(REFERRAL)
        self.natives = {f.canonical: f.native for f in spec.fields}
        self.encoders: dict[str, Encoder] = {
            f.canonical: mappings.encoder(spec, f.canonical) for f in spec.fields
        }

    def _put(self, record: dict[str, Any], canonical: str, value: Any) -> None:
        """Write a value under its attribute, when the spec maps the field and it has one."""
        native = self.natives.get(canonical)
        if native is not None and value is not None and value != []:
            record[native] = value

    def _code(self, canonical: str, value: str | None) -> str | int | None:
        return None if value is None else self.encoders[canonical](value)

    def _codes(self, canonical: str, values: list[str]) -> list[str | int]:
        written = []
        for value in values:
            try:
                written.append(self.encoders[canonical](value))
            except KeyError:
                continue  # no border code for it (module docstring)
        return list(dict.fromkeys(written))

    def render(self, referral: Referral) -> bytes:
        """Return the referral's body; its bytes depend only on it (sorted keys)."""
        body: dict[str, Any] = {PERSON: self.person(referral.person)}
        self._put(body, "referral.id", referral.id)
        self._put(body, "referral.kind", self._code("referral.kind", referral.kind))
        self._put(body, "referral.urgency", self._code("referral.urgency", referral.urgency))
        self._put(body, "referral.reasons", self._codes("referral.reasons", referral.reasons))
        self._put(body, "referral.referred_on", referral.referred_on.isoformat())
        self._put(body, "referral.from_office", referral.from_office)
        self._put(body, "referral.to_authority", referral.to_authority)
        found = schema.problems(body)
        if found:  # a bug in this module or its spec, or a value the system cannot hold
            raise InvalidInput(f"rendered border {REFERRAL} breaks its schema", found)
        return canonical_json(body)

    def name(self, record: dict[str, Any], name: PersonName) -> dict[str, Any]:
        self._put(record, "person.names.given", list(name.given))
        self._put(record, "person.names.family", name.family)
        return record

    def person(self, person: Person) -> dict[str, Any]:
        record: dict[str, Any] = {}
        self._put(record, "person.ref", person.ref)
        if person.names:
            self.name(record, person.names[0])
        if others := [self.name({}, n) for n in person.names[1:]]:
            record[OTHER_NAMES] = others
        self._put(record, "person.sex", self._code("person.sex", person.sex))
        if person.birth_date is not None:
            self._put(record, "person.birth_date.date", person.birth_date.date.isoformat())
            self._put(record, "person.birth_date.estimated", person.birth_date.estimated)
        for field in ("nationalities", "former_habitual_residences", "feared_countries"):
            self._put(
                record, f"person.{field}", self._codes(f"person.{field}", getattr(person, field))
            )
        self._put(
            record,
            "person.country_of_origin",
            self._code("person.country_of_origin", person.country_of_origin),
        )
        self._put(record, "person.stateless", person.stateless or None)
        self._put(
            record,
            "person.specific_needs",
            self._codes("person.specific_needs", person.specific_needs),
        )
        self._put(
            record, "person.legal_status", self._code("person.legal_status", person.legal_status)
        )
        ids = []
        for identifier in person.identifiers:
            written: dict[str, Any] = {}
            self._put(written, "person.identifiers.scheme", identifier.scheme)
            self._put(written, "person.identifiers.value", identifier.value)
            ids.append(written)
        if ids:
            record[PERSON_IDS] = ids
        if documents := [self.document(d) for d in person.documents]:
            record[DOCUMENTS] = documents
        return record

    def document(self, document: IdentityDocument) -> dict[str, Any]:
        record: dict[str, Any] = {}
        self._put(record, "person.documents.type", document.type)
        self._put(record, "person.documents.number", document.number)
        issuing = self._code("person.documents.issuing_country", document.issuing_country)
        self._put(record, "person.documents.issuing_country", issuing)
        expiry = None if document.expiry is None else document.expiry.isoformat()
        self._put(record, "person.documents.expiry", expiry)
        return record

"""Read a border system's referral into a canonical Referral, listing every problem.

Shape (attribute names come from the mapping spec, adapters/border/mappings/referral.yaml):

    {"referralId": "BP7-2026-0042-ASY", "referralType": "ASYLUM_PROCEDURE",
     "urgency": "PRIORITY", "reasonCodes": ["FEAR_OF_RETURN"], "referredOn": "2026-03-02",
     "borderPoint": "BP-7", "toAuthority": "uto-rsd",
     "person": {"familyName": "...", "givenNames": ["..."], "sex": "F",
                "dateOfBirth": "1990-05-01", "nationalities": ["SOM"],
                "documents": [{"documentType": "P", "documentNumber": "...", ...}]}}

Two passes: the schema says what is malformed; the code lists and dates say what the values
mean (a code the lists lack, a date in the future, a referral naming nobody). Every problem is
collected before raising; none echoes a value. No list is read past the schema's maxItems.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from adapters.border import schema
from adapters.border.schema import DOCUMENTS, OTHER_NAMES, PERSON, PERSON_IDS
from adapters.kit.jsonschema_problems import canonical_problems, pointer
from adapters.kit.mapping import Decoder, MappingSet
from gateway.canonical.referral import REFERRAL, Referral, ReferralKind, Urgency
from gateway.errors import ParseError, Problem

SUBJECT_REF = "subject"
"""The person's ref inside the message when the body names none."""
FUTURE_SLACK = dt.timedelta(days=1)
"""A referral dated tomorrow is a border point in another time zone, not an error."""
INVALID = f"invalid border {REFERRAL}"

Path = list[str | int]


class ReferralFields:
    """The referral spec resolved once, with the adapter: each canonical field's attribute
    and the code-list translator that reads it."""

    def __init__(self, mappings: MappingSet) -> None:
        spec = mappings.spec(REFERRAL)
        self.natives = {f.canonical: f.native for f in spec.fields}
        self.decoders: dict[str, Decoder] = {
            f.canonical: mappings.decoder(spec, f.canonical) for f in spec.fields
        }
        self.limits = schema.item_limits()
        self.lists = {f.canonical: f.codelist or "" for f in spec.fields}


class _Reader:
    def __init__(self, fields: ReferralFields, today: dt.date) -> None:
        self.fields = fields
        self.today = today
        self.problems: list[Problem] = []

    def _native(self, canonical: str) -> str | None:
        return self.fields.natives.get(canonical)

    def raw(self, record: dict[str, Any], canonical: str) -> Any:
        native = self._native(canonical)
        return None if native is None else record.get(native)

    def text(self, record: dict[str, Any], canonical: str) -> str | None:
        value = self.raw(record, canonical)
        return value if isinstance(value, str) else None  # mistyped: the schema reports it

    def items(self, record: dict[str, Any], native: str | None) -> list[Any]:
        """Return a list attribute's items, no more than the schema allows."""
        value = record.get(native) if native else None
        if not isinstance(value, list):
            return []
        return value[: self.fields.limits.get(native or "", 0)]

    def _decode(self, canonical: str, value: Any, at: Path) -> str | None:
        if not isinstance(value, str):
            return None  # absent or mistyped: the schema reports it
        try:
            return self.fields.decoders[canonical](value)
        except KeyError:
            what = self.fields.lists[canonical]
            self.problems.append(Problem(pointer(at), f"is not a code of the {what} list"))
            return None

    def code(self, record: dict[str, Any], canonical: str, at: Path) -> str | None:
        native = self._native(canonical)
        if native is None:
            return None
        return self._decode(canonical, record.get(native), [*at, native])

    def codes(self, record: dict[str, Any], canonical: str, at: Path) -> list[str]:
        native = self._native(canonical)
        found = [
            self._decode(canonical, value, [*at, native or "", i])
            for i, value in enumerate(self.items(record, native))
        ]
        return [c for c in dict.fromkeys(found) if c]

    def date(self, record: dict[str, Any], canonical: str, at: Path, latest: dt.date) -> Any:
        value = self.raw(record, canonical)
        try:
            day = dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None  # the schema's date format reports it
        if day is not None and day > latest:
            self.problems.append(
                Problem(pointer([*at, self._native(canonical) or ""]), "date is in the future")
            )
        return day

    def name(self, record: dict[str, Any]) -> dict[str, Any] | None:
        given = [
            g for g in self.items(record, self._native("person.names.given")) if isinstance(g, str)
        ]
        if not given:
            return None
        return {"given": given, "family": self.text(record, "person.names.family")}

    def person(self, record: dict[str, Any]) -> dict[str, Any]:
        at: Path = [PERSON]
        data: dict[str, Any] = {"ref": self.text(record, "person.ref") or SUBJECT_REF}
        others = [n for n in self.items(record, OTHER_NAMES) if isinstance(n, dict)]
        data["names"] = [n for n in map(self.name, [record, *others]) if n]
        if sex := self.code(record, "person.sex", at):
            data["sex"] = sex
        if born := self.date(record, "person.birth_date.date", at, self.today):
            estimated = self.raw(record, "person.birth_date.estimated")
            data["birth_date"] = {"date": born, "estimated": estimated is True}
        for field in ("nationalities", "former_habitual_residences", "feared_countries"):
            data[field] = self.codes(record, f"person.{field}", at)
        data["specific_needs"] = self.codes(record, "person.specific_needs", at)
        data["country_of_origin"] = self.code(record, "person.country_of_origin", at)
        data["legal_status"] = self.code(record, "person.legal_status", at)
        data["stateless"] = self.raw(record, "person.stateless") is True
        data["identifiers"] = [
            {
                "scheme": self.text(i, "person.identifiers.scheme") or "",
                "value": self.text(i, "person.identifiers.value"),
            }
            for i in self.items(record, PERSON_IDS)
            if isinstance(i, dict)
        ]
        data["documents"] = [
            self.document(d, [*at, DOCUMENTS, i])
            for i, d in enumerate(self.items(record, DOCUMENTS))
            if isinstance(d, dict)
        ]
        return {k: v for k, v in data.items() if v is not None}

    def document(self, record: dict[str, Any], at: Path) -> dict[str, Any]:
        data = {
            "type": self.text(record, "person.documents.type"),
            "number": self.text(record, "person.documents.number"),
            "issuing_country": self.code(record, "person.documents.issuing_country", at),
            "expiry": self.date(record, "person.documents.expiry", at, dt.date.max),
        }
        return {k: v for k, v in data.items() if v is not None}

    def referral(self, doc: dict[str, Any]) -> dict[str, Any]:
        latest = self.today + FUTURE_SLACK
        data: dict[str, Any] = {
            "id": self.text(doc, "referral.id"),
            "kind": self.code(doc, "referral.kind", []),
            "urgency": self.code(doc, "referral.urgency", []),
            "reasons": self.codes(doc, "referral.reasons", []),
            "referred_on": self.date(doc, "referral.referred_on", [], latest),
            "from_office": self.text(doc, "referral.from_office"),
            "to_authority": self.text(doc, "referral.to_authority"),
        }
        record = doc.get(PERSON)
        if isinstance(record, dict):
            data["person"] = person = self.person(record)
            emergency = {ReferralKind.EMERGENCY.value, Urgency.EMERGENCY.value}
            if not emergency & {data["kind"], data["urgency"]} and not (
                person["names"] or person["identifiers"]
            ):
                # Why here and not in the model: the problem names the attributes to add.
                self.problems.append(
                    Problem(
                        pointer([PERSON]),
                        "givenNames or personIds are needed unless the referral is an emergency",
                    )
                )
        return {k: v for k, v in data.items() if v is not None}


def parse_referral(fields: ReferralFields, doc: dict[str, Any], today: dt.date) -> Referral:
    """Validate a decoded referral against its schema and code lists; build it."""
    found = schema.problems(doc)
    reader = _Reader(fields, today)
    data = reader.referral(doc)
    found += reader.problems
    if found:
        raise ParseError(INVALID, sorted(set(found), key=lambda p: (p.location, p.message)))
    try:
        return Referral.model_validate(data)
    except ValidationError as exc:
        raise ParseError(INVALID, canonical_problems(exc)) from exc

"""Read a Primero v2 case into a canonical child-protection Referral, listing every problem.

Shape (field names come from the mapping spec, adapters/primero/mappings/referral.yaml):

    {"data": {"case_id_display": "f15a1a9", "module_id": "primeromodule-cp",
              "name_first": ..., "sex": "female", "nationality": ["SSD"],
              "unaccompanied_separated_status": "unaccompanied_minor",
              "protection_concerns": ["trafficked_smuggled"], "risk_level": "high",
              "registration_date": "2026-11-30"}}

The referral's id is the case's own reference, `case_id_display`, when Primero gave it one,
else the referring agency's (`other_agency_id`), which is all a case the gateway wrote holds;
its kind is child protection. Unknown lookup values are problems naming the field, never
echoing the value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from adapters.kit.jsonschema_problems import canonical_problems, pointer
from adapters.kit.mapping import MappingSet
from adapters.primero import schema
from adapters.primero.schema import CASE_REFERENCE, DATA, NO_STATUS, STATUS
from gateway.canonical.referral import REFERRAL, Referral, ReferralKind
from gateway.errors import ParseError, Problem

SCHEME = "progres-individual"  # unhcr_individual_no holds the proGres individual id
CHILD_REF = "child"  # the person's ref inside the message when the case has no id


class CaseFields:
    """The referral spec resolved once, with the adapter: each canonical field's case field
    and the code-list translator that reads it."""

    def __init__(self, mappings: MappingSet) -> None:
        spec = mappings.spec(REFERRAL)
        self.natives = {f.canonical: f.native for f in spec.fields}
        self.decoders = {f.canonical: mappings.decoder(spec, f.canonical) for f in spec.fields}
        self.limits = schema.item_limits()


class _Reader:
    def __init__(self, fields: CaseFields, case: dict[str, Any]) -> None:
        self.fields = fields
        self.case = case
        self.problems: list[Problem] = []

    def raw(self, canonical: str) -> Any:
        native = self.fields.natives.get(canonical)
        return None if native is None else self.case.get(native)

    def text(self, canonical: str) -> str | None:
        value = self.raw(canonical)
        return value.strip() or None if isinstance(value, str) else None

    def _decode(self, canonical: str, value: Any, *where: str | int) -> str | None:
        if not isinstance(value, str):
            return None  # absent or mistyped: the schema reports it
        try:
            return self.fields.decoders[canonical](value)
        except KeyError:
            self.problems.append(Problem(pointer([DATA, *where]), "unknown lookup value"))
            return None

    def code(self, canonical: str) -> str | None:
        native = self.fields.natives.get(canonical)
        return None if native is None else self._decode(canonical, self.case.get(native), native)

    def codes(self, canonical: str) -> list[str]:
        native = self.fields.natives.get(canonical)
        values = self.case.get(native) if native else None
        if not isinstance(values, list):
            return []
        found = []
        for i, value in enumerate(values[: self.fields.limits.get(native or "", 0)]):
            code = self._decode(canonical, value, native or "", i)
            if code and code not in found:
                found.append(code)
        return found

    def date(self, canonical: str) -> dt.date | None:
        value = self.raw(canonical)
        try:
            return dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None  # the schema's date format reports it

    def person(self) -> dict[str, Any]:
        ref = self.case.get("id")
        data: dict[str, Any] = {"ref": ref if isinstance(ref, str) else CHILD_REF}
        if given := self.text("person.names.given"):
            data["names"] = [{"given": [given], "family": self.text("person.names.family")}]
        if identifier := self.text("person.identifiers.value"):
            data["identifiers"] = [{"scheme": SCHEME, "value": identifier}]
        if sex := self.code("person.sex"):
            data["sex"] = sex
        if born := self.date("person.birth_date.date"):
            data["birth_date"] = {"date": born}
        data["nationalities"] = self.codes("person.nationalities")
        return data

    def reasons(self) -> list[str]:
        found = []
        status = self.case.get(STATUS)
        if isinstance(status, str) and status != NO_STATUS:
            found.append(self._decode("referral.reasons", status, STATUS))
        found += self.codes("referral.reasons")
        return [r for r in dict.fromkeys(found) if r]

    def referral(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.case.get(CASE_REFERENCE) or self.raw("referral.id"),
            "kind": ReferralKind.CHILD_PROTECTION,
            "person": self.person(),
            "reasons": self.reasons(),
            "referred_on": self.date("referral.referred_on"),
        }
        if urgency := self.code("referral.urgency"):
            data["urgency"] = urgency
        return data


def parse_case(fields: CaseFields, doc: dict[str, Any]) -> Referral:
    """Validate a decoded case body against its schema and code lists; build the referral."""
    found = schema.problems(doc)
    case = doc.get(DATA)
    if not isinstance(case, dict):
        raise ParseError(f"invalid Primero {REFERRAL}", found)
    agency_reference = fields.natives["referral.id"]
    if not isinstance(case.get(CASE_REFERENCE) or case.get(agency_reference), str):
        message = f"{CASE_REFERENCE!r} or {agency_reference!r} is a required property"
        found.append(Problem(pointer([DATA]), message))
    reader = _Reader(fields, case)
    data = reader.referral()
    found += reader.problems
    if found:
        raise ParseError(f"invalid Primero {REFERRAL}", sorted(set(found), key=_order))
    try:
        return Referral.model_validate(data)
    except ValidationError as exc:
        raise ParseError(f"invalid Primero {REFERRAL}", canonical_problems(exc)) from exc


def _order(problem: Problem) -> tuple[str, str]:
    return problem.location, problem.message

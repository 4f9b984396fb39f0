"""Write a canonical child-protection Referral as a Primero v2 case creation.

Shape (field names come from the mapping spec, adapters/primero/mappings/referral.yaml):

    {"data": {"module_id": "primeromodule-cp", "other_agency_id": "<sender's reference>",
              "name_first": ..., "unaccompanied_separated_status": "unaccompanied_minor",
              "protection_concerns": [...], "risk_level": "high", "registration_date": ...}}

Primero's case is a child-protection case: a referral of another kind is refused before
anything is written. A reason with no Primero code (e.g. fear_of_return) is left out: Primero
has no field for it, and the referral's other facts still let a caseworker act.
"""

from __future__ import annotations

from typing import Any

from adapters.kit.mapping import Encoder, MappingSet
from adapters.primero import schema
from adapters.primero.parse import SCHEME
from adapters.primero.schema import CP_MODULE, DATA, MODULE, STATUS
from gateway.canonical import identifier_of
from gateway.canonical.json import canonical_json
from gateway.canonical.referral import REFERRAL, Referral, ReferralKind
from gateway.errors import InvalidInput, Problem


class CaseWriter:
    """The referral spec resolved once, with the adapter: case fields and encoders."""

    def __init__(self, mappings: MappingSet) -> None:
        spec = mappings.spec(REFERRAL)
        self.natives = {f.canonical: f.native for f in spec.fields}
        self.encoders: dict[str, Encoder] = {
            f.canonical: mappings.encoder(spec, f.canonical) for f in spec.fields
        }
        self.statuses = schema.statuses()

    def _reasons(self, referral: Referral) -> tuple[str | None, list[str]]:
        """Return the gravest separation status and the protection concerns of the reasons."""
        encode = self.encoders["referral.reasons"]
        status, concerns = None, []
        for reason in referral.reasons:
            try:
                code = str(encode(reason))
            except KeyError:
                continue  # no Primero equivalent: see the module docstring
            if code in self.statuses:
                if status is None or self.statuses.index(code) < self.statuses.index(status):
                    status = code
            elif code not in concerns:
                concerns.append(code)
        return status, concerns

    def case(self, referral: Referral) -> dict[str, Any]:
        """Return the case fields of a referral."""
        n, person = self.natives, referral.person
        case: dict[str, Any] = {MODULE: CP_MODULE, n["referral.id"]: referral.id}
        case[n["referral.referred_on"]] = referral.referred_on.isoformat()
        case[n["referral.urgency"]] = self.encoders["referral.urgency"](referral.urgency)
        status, concerns = self._reasons(referral)
        if status:
            case[STATUS] = status
        if concerns:
            case[n["referral.reasons"]] = concerns
        if identifier := identifier_of(person, SCHEME):
            case[n["person.identifiers.value"]] = identifier.value
        if person.names:
            name = person.names[0]
            case[n["person.names.given"]] = " ".join(name.given)
            if name.family:
                case[n["person.names.family"]] = name.family
        if person.sex != "unknown":  # Primero's own lookup-gender has no "unknown"
            case[n["person.sex"]] = self.encoders["person.sex"](person.sex)
        if person.birth_date:
            case[n["person.birth_date.date"]] = person.birth_date.date.isoformat()
        if person.nationalities:
            encode = self.encoders["person.nationalities"]
            case[n["person.nationalities"]] = [encode(c) for c in person.nationalities]
        return case


def render_case(writer: CaseWriter, referral: Referral) -> bytes:
    """Return the case creation body; its bytes depend only on the referral (sorted keys)."""
    if referral.kind is not ReferralKind.CHILD_PROTECTION:
        problem = Problem("kind", "Primero takes child-protection referrals only")
        raise InvalidInput("referral cannot be sent to Primero", [problem])
    body = {DATA: writer.case(referral)}
    found = schema.problems(body)
    if found:  # e.g. a name longer than Primero's fields hold: located, never echoed
        raise InvalidInput("referral does not fit a Primero case", found)
    return canonical_json(body)

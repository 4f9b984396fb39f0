"""proGres referrals: read into a canonical Referral, and written back.

Shape (attribute names come from adapters/progres/mappings/referral.yaml):

    {"progres_referralid": "KKM-REF-2026-0042", "progres_referraltype": 125080001,
     "progres_urgency": 125080002, "progres_referralreasons": [125080001],
     "progres_referraldate": "2026-11-30", "progres_fromoffice": "KEN-KKM",
     "individual": {"progres_individualid": "KKM-26-004417", ...}}

Type, urgency and reasons are option sets: a referral carries codes, never the narrative a
caseworker wrote, which stays in proGres.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.kit.mapping import MappingSet
from adapters.progres import schema
from adapters.progres.parse import Reader, SpecFields, built
from adapters.progres.records import INDIVIDUAL, PersonWriter
from gateway.canonical.json import canonical_json
from gateway.canonical.referral import REFERRAL, Referral
from gateway.errors import InvalidInput

SUBJECT_REF = "individual"


def parse_referral(fields: SpecFields, doc: dict[str, Any], today: dt.date) -> Referral:
    """Validate a decoded referral against its schema and code lists; build it."""
    found = schema.problems(REFERRAL, doc)
    reader = Reader(fields, today)
    data: dict[str, Any] = {
        "id": reader.raw(doc, "referral.id"),
        "kind": reader.code(doc, [], "referral.kind"),
        "urgency": reader.code(doc, [], "referral.urgency"),
        "reasons": reader.codes(doc, [], "referral.reasons"),
        "from_office": reader.raw(doc, "referral.from_office"),
        "to_authority": reader.raw(doc, "referral.to_authority"),
    }
    data["referred_on"] = reader.date(doc, [], "referral.referred_on")
    subject = doc.get(INDIVIDUAL)
    if isinstance(subject, dict):
        _, person = reader.person(subject, [INDIVIDUAL])
        person["ref"] = person["ref"] or SUBJECT_REF
        data["person"] = person
    given = {k: v for k, v in data.items() if v is not None}
    return built(Referral, REFERRAL, given, found + reader.problems)


class ReferralWriter:
    """The referral spec resolved once, with the adapter."""

    def __init__(self, mappings: MappingSet) -> None:
        spec = mappings.spec(REFERRAL)
        self.natives = {f.canonical: f.native for f in spec.fields}
        self.encoders = {f.canonical: mappings.encoder(spec, f.canonical) for f in spec.fields}
        self.persons = PersonWriter(mappings, spec)

    def render(self, referral: Referral) -> bytes:
        """Return the referral's body; its bytes depend only on it (sorted keys)."""
        n, encode = self.natives, self.encoders
        body: dict[str, Any] = {
            n["referral.id"]: referral.id,
            n["referral.kind"]: encode["referral.kind"](referral.kind),
            n["referral.referred_on"]: referral.referred_on.isoformat(),
            INDIVIDUAL: self.persons.record(referral.person),
        }
        if "referral.urgency" in n:
            body[n["referral.urgency"]] = encode["referral.urgency"](referral.urgency)
        reasons = []
        for reason in referral.reasons:
            try:
                reasons.append(encode["referral.reasons"](reason))
            except KeyError:
                continue  # no proGres option for it: proGres records what it can hold
        if reasons and "referral.reasons" in n:
            body[n["referral.reasons"]] = reasons
        for field in ("from_office", "to_authority"):
            value = getattr(referral, field)
            if value and f"referral.{field}" in n:
                body[n[f"referral.{field}"]] = value
        found = schema.problems(REFERRAL, body)
        if found:  # e.g. a name longer than proGres holds: located, never echoed
            raise InvalidInput(f"referral does not fit a proGres {REFERRAL}", found)
        return canonical_json(body)

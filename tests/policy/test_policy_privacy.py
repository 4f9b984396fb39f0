"""Decisions and requests never carry names or identifiers into traces or reprs."""

import datetime as dt

import pytest

from gateway.canonical import (
    BirthEvent,
    Consent,
    FamilyLink,
    Identifier,
    IdentityDocument,
    LegalBasis,
    Person,
    PersonName,
    Relationship,
)
from gateway.policy import PolicyRequest, SubjectFacts, SystemInfo, inherited_risk
from tests.policy.factories import DAY, NOW, consent, request

SECRETS = ("Zubaydah", "Qarawi-Xylo", "PRG-77Q1-ZZ93", "N0-SUCH-PASSPORT-4417", "Atlantis-Keep")


def secret_family() -> BirthEvent:
    mother = Person(
        ref="mother",
        names=[PersonName(given=["Zubaydah"], family="Qarawi-Xylo")],
        country_of_origin="SYR",
        feared_countries=["IRQ"],
        identifiers=[Identifier(scheme="progres-individual", value="PRG-77Q1-ZZ93")],
        documents=[IdentityDocument(type="passport", number="N0-SUCH-PASSPORT-4417")],
    )
    child = Person(
        ref="child",
        names=[PersonName(given=["Zubaydah"])],
        family_links=[FamilyLink(relationship=Relationship.MOTHER, person_ref="mother")],
    )
    return BirthEvent(child=child, mother=mother, date=dt.date(2025, 5, 1), country="JOR")


def facts(birth: BirthEvent, extra_risk: str | None = None) -> list[SubjectFacts]:
    risk = inherited_risk(birth.subjects())
    out = []
    for n, person in enumerate(birth.subjects()):
        ident = person.identifiers[0] if person.identifiers else None
        countries = risk[person.ref] | ({extra_risk} if extra_risk else set())
        out.append(SubjectFacts(f"pseudo-{n}", ident, frozenset(countries)))
    return out


def mother_consent(**kwargs) -> Consent:
    return consent("PRG-77Q1-ZZ93", **kwargs)


@pytest.mark.parametrize(
    "case",
    [
        {"destination": "crvs-national"},  # allowed
        {"destination": "embassy-syr"},  # origin guard
        {"destination": "crvs-national", "withdrawn": True},  # consent withdrawn
        {"destination": "crvs-national", "extra_risk": "Atlantis-Keep"},  # unreadable risk
        {"destination": "crvs-national", "basis": LegalBasis.PUBLIC_INTEREST},  # basis mismatch
        {"destination": "immigration-x"},  # no rule
    ],
)
def test_no_name_or_identifier_reaches_the_decision(engine, case) -> None:
    birth = secret_family()
    destination = case["destination"]
    withdrawn = NOW - DAY if case.get("withdrawn") else None
    req = request(
        destination=destination,
        basis=case.get("basis", LegalBasis.CONSENT),
        subjects=facts(birth, case.get("extra_risk")),
        consents=[mother_consent(recipient=destination, withdrawn_at=withdrawn)],
    )

    decision = engine.decide(req)

    shown = repr(decision) + str(decision)
    assert decision.trace
    for secret in SECRETS:
        assert secret not in shown


def test_request_repr_keeps_identifiers_and_consents_out() -> None:
    req = request(subjects=facts(secret_family()), consents=[mother_consent()])

    for secret in SECRETS:
        assert secret not in repr(req)
        assert secret not in repr(req.subjects)


def test_request_must_describe_the_envelopes_systems() -> None:
    good = request()
    with pytest.raises(ValueError, match="destination"):
        PolicyRequest(**{**vars(good), "destination": SystemInfo("embassy-syr", "SYR")})
    with pytest.raises(ValueError, match="source"):
        PolicyRequest(**{**vars(good), "source": SystemInfo("crvs-turkey", "TUR")})


def test_request_time_must_be_timezone_aware() -> None:
    good = request()
    with pytest.raises(ValueError, match="timezone"):
        PolicyRequest(**{**vars(good), "now": NOW.replace(tzinfo=None)})

"""Children: a guardian's consent or a best-interests determination, and a BID for tracing."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from gateway.canonical import FamilyLink, LegalBasis, Relationship
from gateway.canonical.consent import GrantedBy
from gateway.policy import PolicyEngine
from gateway.policy.children import is_minor
from tests.policy.factories import NOW, OPEN_AGREEMENT, consent, policy_dir, request, subject

DAY = dt.timedelta(days=1)
PUBLIC_INTEREST = LegalBasis.PUBLIC_INTEREST
CHILD = replace(subject("child", "PRG-0003"), ref="child", birth_date=(NOW - 10 * DAY).date())
MOTHER = replace(
    subject("mother", "PRG-0001"),
    ref="mother",
    birth_date=dt.date(1990, 1, 1),
    family_links=(FamilyLink(relationship=Relationship.CHILD, person_ref="child"),),
)


def test_a_newborn_goes_with_the_consent_of_a_parent_in_the_same_message(engine) -> None:
    decision = engine.decide(
        request(subjects=[MOTHER, CHILD], consents=[consent("PRG-0001"), consent("PRG-0003")])
    )

    assert decision.allowed, decision.reasons
    assert any(f.stage == "children" and "guardian" in f.detail for f in decision.trace)


def test_a_child_alone_needs_a_guardian_not_their_own_consent(engine) -> None:
    own = engine.decide(request(subjects=[CHILD], consents=[consent("PRG-0003")]))
    guardian = consent("PRG-0003").model_copy(update={"granted_by": GrantedBy.GUARDIAN})
    by_guardian = engine.decide(request(subjects=[CHILD], consents=[guardian]))

    assert own.reasons == ("children.guardian_consent",)
    assert by_guardian.allowed


def test_a_parent_whose_consent_does_not_cover_this_recipient_is_no_guardian_here(engine) -> None:
    elsewhere = consent("PRG-0001", recipient="crvs-turkey")

    decision = engine.decide(
        request(subjects=[MOTHER, CHILD], consents=[elsewhere, consent("PRG-0003")])
    )

    assert not decision.allowed


def test_a_best_interests_determination_lets_a_child_alone_go(engine) -> None:
    decision = engine.decide(
        request(subjects=[CHILD], consents=[consent("PRG-0003")], best_interests="BID-2025-0042")
    )

    assert decision.allowed
    assert any("BID" in f.detail for f in decision.trace)


CHILD_PROTECTION = "\n".join(
    [
        "p, unhcr-progres, child-protection, birth-notification, birth-registration, "
        "public-interest, identity|birth",
        "p, unhcr-progres, civil-registry, birth-notification, family-tracing, "
        "public-interest, identity|birth",
        "g, crvs-national, child-protection",
        "g, crvs-turkey, civil-registry",
    ]
)
TRACING_AGREEMENT = OPEN_AGREEMENT.replace(
    'purposes = ["birth-registration"]', 'purposes = ["birth-registration", "family-tracing"]'
)


@pytest.fixture
def open_engine(tmp_path) -> PolicyEngine:
    return PolicyEngine(policy_dir(tmp_path, CHILD_PROTECTION, agreements=TRACING_AGREEMENT))


def test_child_protection_needs_neither_consent_nor_bid(open_engine) -> None:
    decision = open_engine.decide(
        request(subjects=[CHILD], consents=[], basis=PUBLIC_INTEREST, payload=[])
    )

    assert decision.allowed, decision.reasons


def test_an_anti_trafficking_authority_needs_neither_consent_nor_bid(tmp_path) -> None:
    """A child with trafficking indicators is referred at once (seed 001, section 6)."""
    policy = CHILD_PROTECTION.replace("child-protection", "anti-trafficking")
    engine = PolicyEngine(policy_dir(tmp_path, policy, agreements=TRACING_AGREEMENT))
    decision = engine.decide(
        request(subjects=[CHILD], consents=[], basis=PUBLIC_INTEREST, payload=[])
    )

    assert decision.allowed, decision.reasons


def test_tracing_a_child_needs_a_bid_whatever_the_consent(open_engine) -> None:
    guardian = consent("PRG-0003", recipient="crvs-turkey", purpose="family-tracing").model_copy(
        update={"granted_by": GrantedBy.GUARDIAN}
    )
    tracing = {
        "destination": "crvs-turkey",
        "purpose": "family-tracing",
        "basis": PUBLIC_INTEREST,
        "subjects": [CHILD],
        "consents": [guardian],
        "payload": [],
        "jurisdiction": "JOR",
    }

    without = open_engine.decide(request(**tracing))
    with_bid = open_engine.decide(request(**tracing, best_interests="BID-7"))

    assert without.reasons == ("children.best_interests",)
    assert with_bid.allowed, with_bid.reasons


def test_an_adult_or_a_person_of_unknown_age_is_not_held_to_the_child_rules(engine) -> None:
    adult = replace(CHILD, birth_date=dt.date(2000, 1, 1))
    unknown = replace(CHILD, birth_date=None)

    for person in (adult, unknown):
        decision = engine.decide(request(subjects=[person], consents=[consent("PRG-0003")]))
        assert decision.allowed
        assert not [f for f in decision.trace if f.stage == "children"]


@pytest.mark.parametrize(
    ("born", "on", "minor"),
    [
        (dt.date(2007, 6, 1), dt.date(2025, 5, 31), True),
        (dt.date(2007, 6, 1), dt.date(2025, 6, 1), False),
        (dt.date(2008, 2, 29), dt.date(2026, 2, 28), True),
        (dt.date(2008, 2, 29), dt.date(2026, 3, 1), False),
        (None, dt.date(2025, 6, 1), False),
    ],
)
def test_the_eighteenth_birthday_ends_childhood(born, on, minor) -> None:
    at = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)

    assert is_minor(born, at) is minor

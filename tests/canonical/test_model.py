"""The canonical model: what a payload carries, what minimisation keeps, what is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.canonical import (
    BirthDate,
    BirthEvent,
    BirthRegistration,
    DataCategory,
    Envelope,
    FamilyLink,
    Identifier,
    IdentityDocument,
    LegalBasis,
    LegalStatus,
    Person,
    PersonName,
    Relationship,
    Sex,
)
from gateway.demo.flow import BIRTH_CATEGORIES

C = DataCategory
# Health and biometrics: rules, agreements and consents may name them, but no canonical field
# carries them yet, so no message can.
EVERY_CATEGORY = frozenset(DataCategory) - {C.HEALTH, C.BIOMETRICS}


def mother(**changes: Any) -> Person:
    """Return a mother who carries data in every category a person can."""
    fields: dict[str, Any] = {
        "ref": "mother",
        "names": [PersonName(given=["Achol"], family="Mabior")],
        "sex": Sex.FEMALE,
        "birth_date": BirthDate(date=dt.date(1998, 7, 1), estimated=True),
        "nationalities": ["SSD"],
        "country_of_origin": "South Sudan",
        "former_habitual_residences": ["SDN"],
        "feared_countries": ["SS"],
        "identifiers": [Identifier(scheme="progres-individual", value="KKM-19-004567")],
        "documents": [IdentityDocument(type="Refugee ID", number="KKM-RID-0045671")],
        "family_links": [FamilyLink(relationship=Relationship.CHILD, person_ref="child")],
        "specific_needs": ["single-parent"],
        "legal_status": LegalStatus.REFUGEE,
    }
    return Person(**{**fields, **changes})


def child() -> Person:
    return Person(
        ref="child",
        names=[PersonName(given=["Nyandeng"], family="Deng")],
        sex=Sex.FEMALE,
        identifiers=[Identifier(scheme="progres-individual", value="KKM-25-001234")],
        family_links=[FamilyLink(relationship=Relationship.MOTHER, person_ref="mother")],
    )


def birth(**changes: Any) -> BirthEvent:
    fields: dict[str, Any] = {
        "child": child(),
        "mother": mother(),
        "date": dt.date(2025, 3, 2),
        "place": "Kakuma",
        "country": "KE",
    }
    return BirthEvent(**{**fields, **changes})


def test_a_person_reports_every_category_it_carries() -> None:
    assert mother().categories() == EVERY_CATEGORY - {C.BIRTH}
    assert child().categories() == {C.IDENTITY, C.IDENTIFIERS, C.FAMILY}
    assert Person(ref="nobody").categories() == frozenset()
    assert Person(ref="stateless", stateless=True).categories() == {C.NATIONALITY}
    assert Person(ref="sexed", sex=Sex.MALE).categories() == {C.IDENTITY}


def test_birth_registration_categories_never_keep_needs_or_feared_countries() -> None:
    kept = mother().minimised(BIRTH_CATEGORIES)

    assert kept.specific_needs == []
    assert kept.feared_countries == []
    assert kept.legal_status is None
    assert kept.categories() == BIRTH_CATEGORIES - {C.BIRTH}
    assert kept.names == mother().names
    assert kept.country_of_origin == "SSD"
    assert kept.identifiers == mother().identifiers
    assert kept.family_links == mother().family_links
    assert kept.ref == "mother"


@pytest.mark.parametrize("category", sorted(EVERY_CATEGORY - {C.BIRTH}))
def test_minimising_to_one_category_keeps_only_it(category: DataCategory) -> None:
    kept = mother().minimised(frozenset({category}))

    assert kept.categories() == {category}
    assert kept.ref == "mother"


def test_minimising_to_nothing_keeps_only_the_reference() -> None:
    kept = mother().minimised(frozenset())

    assert kept == Person(ref="mother")


def test_minimising_leaves_the_original_alone() -> None:
    original = mother()

    original.minimised(frozenset({C.BIRTH}))

    assert original == mother()
    assert original.specific_needs == ["single-parent"]


def test_a_minimised_copy_does_not_share_lists() -> None:
    first = mother().minimised(frozenset())
    second = mother().minimised(frozenset())

    assert first.specific_needs is not second.specific_needs


def test_a_birth_minimised_for_registration_drops_needs_and_feared_countries() -> None:
    event = birth()

    kept = event.minimised(BIRTH_CATEGORIES)

    assert event.categories() == EVERY_CATEGORY
    assert kept.categories() == BIRTH_CATEGORIES
    assert all(p.specific_needs == [] and p.feared_countries == [] for p in kept.subjects())
    assert (kept.date, kept.place, kept.country) == (event.date, event.place, "KEN")


def test_a_birth_cannot_be_minimised_away_from_its_birth_category() -> None:
    with pytest.raises(ValueError, match="birth category"):
        birth().minimised(BIRTH_CATEGORIES - {C.BIRTH})


def test_a_birth_names_its_subjects() -> None:
    assert [p.ref for p in birth().subjects()] == ["child", "mother"]
    father = mother(ref="father", sex=Sex.MALE)
    assert [p.ref for p in birth(mother=None, father=father).subjects()] == ["child", "father"]


def test_a_birth_needs_a_parent() -> None:
    with pytest.raises(ValidationError, match="at least one parent"):
        birth(mother=None)


def test_a_birth_needs_a_known_country() -> None:
    with pytest.raises(ValidationError, match="unknown country"):
        birth(country="Atlantis")


def registration(**changes: Any) -> BirthRegistration:
    fields: dict[str, Any] = {"child": child(), "registration_number": "2025123456ABCDEFG"}
    return BirthRegistration(**{**fields, **changes})


def test_a_registration_needs_the_child_identifier() -> None:
    unidentified = child().model_copy(update={"identifiers": []})

    with pytest.raises(ValidationError, match="child's identifier"):
        registration(child=unidentified)


@pytest.mark.parametrize("number", ["", "x" * 65])
def test_a_registration_needs_a_number(number: str) -> None:
    with pytest.raises(ValidationError, match="registration_number"):
        registration(registration_number=number)


def test_a_registration_carries_birth_and_the_child() -> None:
    assert registration().categories() == {C.BIRTH, C.IDENTITY, C.IDENTIFIERS, C.FAMILY}
    kept = registration().minimised(frozenset({C.BIRTH, C.IDENTIFIERS}))
    assert kept.categories() == {C.BIRTH, C.IDENTIFIERS}
    assert kept.child.identifiers == child().identifiers


@pytest.mark.parametrize("without", [C.BIRTH, C.IDENTIFIERS])
def test_a_registration_cannot_lose_what_links_it_back(without: DataCategory) -> None:
    with pytest.raises(ValueError, match="birth and identifiers"):
        registration().minimised(EVERY_CATEGORY - {without})


def test_canonical_types_refuse_unknown_fields_and_changes() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Person(ref="x", religion="any")
    person = child()
    with pytest.raises(ValidationError, match="frozen"):
        person.ref = "other"


def envelope(**changes: Any) -> Envelope:
    fields: dict[str, Any] = {
        "source": "unhcr-progres",
        "destination": "crvs-national",
        "message_type": "birth-notification",
        "purpose": "birth-registration",
        "legal_basis": "consent",
        "idempotency_key": "birth-2025-0001",
    }
    return Envelope(**{**fields, **changes})


def test_a_valid_envelope() -> None:
    assert envelope().legal_basis is LegalBasis.CONSENT
    assert envelope(agreement="ken-unhcr.2024").agreement == "ken-unhcr.2024"
    assert envelope(idempotency_key="a" * 128).idempotency_key == "a" * 128
    assert envelope(idempotency_key="ab:cd_ef.12-34").idempotency_key == "ab:cd_ef.12-34"


@pytest.mark.parametrize("field", ["source", "destination", "message_type", "purpose", "agreement"])
@pytest.mark.parametrize(
    "name", ["", "Crvs-National", "crvs national", "-crvs", ".crvs", "crvs/../x", "a" * 65, "crvś"]
)
def test_an_envelope_refuses_a_bad_name(field: str, name: str) -> None:
    with pytest.raises(ValidationError) as raised:
        envelope(**{field: name})

    assert [e["loc"] for e in raised.value.errors()] == [(field,)]


@pytest.mark.parametrize(
    "key", ["", "a", "1234567", "a" * 129, "has space1", "slash/1234", "ключ-12345"]
)
def test_an_envelope_refuses_a_bad_idempotency_key(key: str) -> None:
    with pytest.raises(ValidationError) as raised:
        envelope(idempotency_key=key)

    assert [e["loc"] for e in raised.value.errors()] == [("idempotency_key",)]


def test_an_envelope_refuses_an_unknown_legal_basis() -> None:
    with pytest.raises(ValidationError, match="legal_basis"):
        envelope(legal_basis="because-we-can")

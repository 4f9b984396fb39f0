"""proGres individual registrations and referrals: parsed, rendered, round-tripped, bounded."""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files
from typing import Any

import pytest

from adapters.kit.conformance.hostile import ANSWER_LIMIT, MARKER, answer_text, json_bodies
from adapters.progres import ProgresAdapter
from gateway.canonical import FamilyLink, Identifier, IdentityDocument, Person, PersonName
from gateway.canonical.categories import DataCategory
from gateway.canonical.referral import REFERRAL, Referral, ReferralKind, Urgency
from gateway.canonical.registration import REGISTRATION, Registration
from gateway.errors import MAX_PROBLEMS, GatewayError, InvalidInput, ParseError

FIXTURES = files("adapters.progres").joinpath("fixtures")
TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def adapter() -> ProgresAdapter:
    return ProgresAdapter(today=lambda: TODAY)


def _fixture(path: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(FIXTURES.joinpath(path).read_text("utf-8"))
    return doc


def _registration_doc() -> dict[str, Any]:
    return _fixture("individual-registration/focal-point-with-children.json")


def _referral_doc() -> dict[str, Any]:
    return _fixture("referral/unaccompanied-child.json")


def _body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def _refused(adapter: ProgresAdapter, message_type: str, doc: Any) -> ParseError:
    with pytest.raises(ParseError) as caught:
        adapter.parse(message_type, doc if isinstance(doc, bytes) else _body(doc))
    assert caught.value.status == 422 and caught.value.problems
    return caught.value


def test_parses_a_registration_with_its_household(adapter: ProgresAdapter) -> None:
    registration = adapter.parse(REGISTRATION, _body(_registration_doc()))

    assert isinstance(registration, Registration)
    assert registration.registered_on == dt.date(2026, 11, 20)
    assert registration.office == "KEN-KKM"
    person = registration.person
    assert person.ref == "KKM-26-004410"
    assert person.identifiers == [Identifier(scheme="progres-individual", value="KKM-26-004410")]
    assert person.names == [PersonName(given=["Ayen"], family="Mabior")]
    assert person.birth_date is not None and person.birth_date.estimated is True
    assert person.nationalities == ["SSD"] and person.country_of_origin == "SSD"
    assert person.specific_needs == ["DS"] and person.legal_status == "asylum_seeker"
    assert person.documents == [
        IdentityDocument(
            type="national-id",
            number="SSD-ID-88120455",
            issuing_country="SSD",
            expiry=dt.date(2029, 5, 31),
        )
    ]
    assert person.family_links == [
        FamilyLink(relationship="child", person_ref="KKM-26-004411"),
        FamilyLink(relationship="child", person_ref="KKM-26-004412"),
    ]
    assert [m.ref for m in registration.household] == ["KKM-26-004411", "KKM-26-004412"]
    assert registration.subjects() == [person, *registration.household]


def test_a_registration_round_trips(adapter: ProgresAdapter) -> None:
    parsed = adapter.parse(REGISTRATION, _body(_registration_doc()))
    rendered = adapter.render(REGISTRATION, parsed)
    assert rendered.content_type == "application/json"
    assert adapter.parse(REGISTRATION, rendered.body) == parsed


def test_a_registration_from_a_legacy_system_names_no_progres_id(adapter: ProgresAdapter) -> None:
    legacy = Registration(
        registered_on=dt.date(2026, 10, 2),
        office="LEGACY-KKM",
        person=Person(
            ref="legacy-8812",
            names=[PersonName(given=["Nyakim"], family="Chuol")],
            sex="female",
            identifiers=[Identifier(scheme="legacy-kkm", value="8812")],
            family_links=[FamilyLink(relationship="child", person_ref="legacy-8813")],
            specific_needs=["not-a-unhcr-code", "SC"],
        ),
        household=[Person(ref="legacy-8813", names=[PersonName(given=["Gatluak"])], sex="male")],
    )
    body = json.loads(adapter.render(REGISTRATION, legacy).body)

    assert "progres_individualid" not in body["individual"]  # proGres gives the ids
    assert body["individual"]["progres_specificneeds"] == [125080002]  # SC; the other has none
    assert body["household"] == [
        {
            "progres_givenname": "Gatluak",
            "progres_relationshiptofp": 125080002,
            "progres_sex": 125080001,
        }
    ]
    assert body["progres_office"] == "LEGACY-KKM"


def test_registration_minimisation_keeps_identity_or_refuses() -> None:
    registration = ProgresAdapter(today=lambda: TODAY).parse(
        REGISTRATION, _body(_registration_doc())
    )
    assert isinstance(registration, Registration)
    allowed = frozenset({DataCategory.IDENTITY, DataCategory.FAMILY})
    small = registration.minimised(allowed)
    assert small.categories() <= allowed
    assert small.person.family_links and not small.person.documents
    with pytest.raises(ValueError):
        registration.minimised(frozenset({DataCategory.NATIONALITY}))


def test_parses_a_referral_of_an_unaccompanied_child(adapter: ProgresAdapter) -> None:
    referral = adapter.parse(REFERRAL, _body(_referral_doc()))

    assert isinstance(referral, Referral)
    assert referral.id == "KKM-REF-2026-0042"
    assert referral.kind is ReferralKind.CHILD_PROTECTION
    assert referral.urgency is Urgency.EMERGENCY
    assert referral.reasons == ["unaccompanied_child", "trafficking_indicators", "fear_of_return"]
    assert referral.referred_on == dt.date(2026, 11, 30)
    assert referral.from_office == "KEN-KKM" and referral.to_authority is None
    assert referral.person.ref == "KKM-26-004417"
    assert referral.person.specific_needs == ["UAM"]


def test_a_referral_round_trips(adapter: ProgresAdapter) -> None:
    parsed = adapter.parse(REFERRAL, _body(_referral_doc()))
    assert adapter.parse(REFERRAL, adapter.render(REFERRAL, parsed).body) == parsed


def test_an_asylum_referral_carries_protection_and_needs_it_to_leave() -> None:
    doc = _referral_doc()
    doc["progres_referraltype"] = 125080000  # asylum
    referral = ProgresAdapter(today=lambda: TODAY).parse(REFERRAL, _body(doc))
    assert isinstance(referral, Referral)
    assert DataCategory.PROTECTION in referral.categories()
    with pytest.raises(ValueError):
        referral.minimised(frozenset({DataCategory.IDENTITY}))
    kept = referral.minimised(frozenset({DataCategory.IDENTITY, DataCategory.PROTECTION}))
    assert kept.reasons == [] and kept.person.nationalities == []


def test_an_emergency_referral_needs_only_the_individual_id(adapter: ProgresAdapter) -> None:
    doc = {
        "progres_referralid": "KKM-REF-2026-0099",
        "progres_referraltype": 125080005,
        "progres_referraldate": "2026-11-30",
        "individual": {"progres_individualid": "KKM-26-009001"},
    }
    referral = adapter.parse(REFERRAL, _body(doc))
    assert isinstance(referral, Referral)
    assert referral.kind is ReferralKind.EMERGENCY and referral.person.names == []


@pytest.mark.parametrize(
    ("message_type", "path", "value", "location"),
    [
        (REFERRAL, ["progres_referraltype"], 125089999, "/progres_referraltype"),
        (REFERRAL, ["progres_urgency"], 7, "/progres_urgency"),
        (REFERRAL, ["progres_referralreasons"], [125080001, 99], "/progres_referralreasons/1"),
        (REFERRAL, ["individual", "progres_sex"], 3, "/individual/progres_sex"),
        (REFERRAL, ["progres_referraldate"], "2027-01-01", "/progres_referraldate"),
        (
            REGISTRATION,
            ["household", 0, "progres_relationshiptofp"],
            5,
            "/household/0/progres_relationshiptofp",
        ),
        (REGISTRATION, ["individual", "progres_legalstatus"], 1, "/individual/progres_legalstatus"),
        (
            REGISTRATION,
            ["individual", "progres_dateofbirth"],
            "2030-01-01",
            "/individual/progres_dateofbirth",
        ),
        (REGISTRATION, ["progres_registrationdate"], "2026-02-30", "/progres_registrationdate"),
    ],
)
def test_invalid_codes_and_dates_name_the_field(
    adapter: ProgresAdapter, message_type: str, path: list[Any], value: Any, location: str
) -> None:
    doc = _referral_doc() if message_type == REFERRAL else _registration_doc()
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    error = _refused(adapter, message_type, doc)
    assert location in [p.location for p in error.problems]
    assert "Achol" not in answer_text(error) and "Ayen" not in answer_text(error)


def test_two_members_under_one_id_are_refused(adapter: ProgresAdapter) -> None:
    doc = _registration_doc()
    doc["household"][1]["progres_individualid"] = doc["individual"]["progres_individualid"]
    error = _refused(adapter, REGISTRATION, doc)
    assert any("share one individual id" in p.message for p in error.problems)


def test_personal_data_never_appears_in_errors(adapter: ProgresAdapter) -> None:
    doc = _referral_doc()
    doc["individual"]["progres_nationality"] = [{"LogicalName": "progres_country", "Name": MARKER}]
    doc["progres_fromoffice"] = MARKER + " office"
    error = _refused(adapter, REFERRAL, doc)
    assert MARKER not in answer_text(error)


@pytest.mark.parametrize("message_type", [REGISTRATION, REFERRAL])
def test_hostile_bodies_are_refused_small_and_silent(
    adapter: ProgresAdapter, message_type: str
) -> None:
    for hostile in json_bodies(adapter.native_fields[message_type]):
        with pytest.raises(GatewayError) as caught:
            adapter.parse(message_type, hostile.body)
        assert 400 <= caught.value.status < 500, hostile.name
        text = answer_text(caught.value)
        assert MARKER not in text and len(text) < ANSWER_LIMIT, hostile.name


def test_a_huge_household_of_bad_members_costs_a_bounded_answer(adapter: ProgresAdapter) -> None:
    doc = _registration_doc()
    member = {"progres_givenname": MARKER, "progres_sex": 9, "progres_relationshiptofp": 9}
    doc["household"] = [member] * 100_000
    doc["individual"]["progres_specificneeds"] = list(range(50_000))
    error = _refused(adapter, REGISTRATION, doc)
    assert len(error.problems) <= MAX_PROBLEMS
    text = answer_text(error)
    assert MARKER not in text and len(text) < ANSWER_LIMIT


def test_the_new_specs_are_checked_and_dropped_nothing_unknown() -> None:
    adapter = ProgresAdapter()
    for message_type in (REGISTRATION, REFERRAL):
        assert adapter.mappings.version(message_type) == f"progres/{message_type}@1"
        assert message_type in adapter.parses and message_type in adapter.renders


def test_a_referral_that_does_not_fit_progres_is_refused_not_crashed(
    adapter: ProgresAdapter,
) -> None:
    referral = Referral(
        id="REF/2026/7 (Dadaab)",
        kind=ReferralKind.UNHCR,
        referred_on=dt.date(2026, 11, 2),
        person=Person(ref="x", names=[PersonName(given=[MARKER * 10])]),
    )
    with pytest.raises(InvalidInput) as caught:
        adapter.render(REFERRAL, referral)
    problems = [p.as_dict() for p in caught.value.problems]
    assert problems == [  # the id passes: proGres takes any reference of 64 characters
        {"location": "/individual", "message": "'progres_individualid' is a required property"},
        {"location": "/individual/progres_givenname", "message": "violates maxLength 100"},
    ]
    assert MARKER not in answer_text(caught.value)

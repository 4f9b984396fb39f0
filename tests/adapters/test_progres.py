"""The proGres adapter: birth notifications in, civil-registration results out."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.kit.mapping import MappingSet, load_mapping_set
from adapters.progres import ProgresAdapter
from gateway.canonical import (
    BirthEvent,
    BirthRegistration,
    FamilyLink,
    Identifier,
    IdentityDocument,
    Person,
    PersonName,
    Relationship,
)
from gateway.errors import EnvelopeError, InvalidInput, ParseError, Problem

BN = "birth-notification"
CONFIRMATION = "birth-registration-confirmation"
CHILD, MOTHER, FATHER = 0, 1, 2  # positions in the fixture's individuals


def _body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def _problems(adapter: Any, body: bytes) -> list[Problem]:
    with pytest.raises(ParseError) as caught:
        adapter.parse(BN, body)
    assert caught.value.status == 422 and caught.value.problems
    return caught.value.problems


def _lookup(name: str, iso: str | None = None) -> dict[str, str]:
    lookup = {"Id": "7f3c9a28-1b6d-4e0f-8c25-3a9d4e1b6c02", "LogicalName": "progres_country"}
    lookup["Name"] = name
    if iso:
        lookup["progres_isocode"] = iso
    return lookup


def test_parses_the_kakuma_birth(birth: BirthEvent) -> None:
    assert birth.date == dt.date(2025, 3, 2)
    assert birth.country == "KEN"
    assert birth.place == "Kakuma Refugee Camp, Kakuma 4, Turkana County"
    assert birth.multiple_birth is False
    child, mother, father = birth.child, birth.mother, birth.father
    assert mother is not None and father is not None
    assert child.ref == "KKM-25-001234"
    assert child.identifiers == [Identifier(scheme="progres-individual", value="KKM-25-001234")]
    assert child.names == [PersonName(given=["Nyandeng"], family="Deng")]
    assert child.sex == "female"
    assert child.birth_date is not None and child.birth_date.date == birth.date
    assert child.country_of_origin == "SSD"
    assert child.family_links == [
        FamilyLink(relationship=Relationship.MOTHER, person_ref="KKM-19-004567"),
        FamilyLink(relationship=Relationship.FATHER, person_ref="KKM-19-004568"),
    ]
    assert mother.family_links == [
        FamilyLink(relationship=Relationship.CHILD, person_ref=child.ref)
    ]
    assert father.family_links == [
        FamilyLink(relationship=Relationship.CHILD, person_ref=child.ref)
    ]
    assert mother.birth_date is not None and mother.birth_date.estimated is True
    assert mother.specific_needs == ["PG"]
    assert mother.legal_status == "refugee"
    assert mother.documents == [
        IdentityDocument(
            type="Refugee ID",
            number="KKM-RID-0045671",
            issuing_country="KEN",
            expiry=dt.date(2027, 5, 31),
        )
    ]
    # "South Sudan" and "Republic of South Sudan" + "SS" are one country to the origin guard.
    assert mother.nationalities == father.nationalities == ["SSD"]
    assert father.former_habitual_residences == ["SSD", "SDN"]
    assert father.risk_countries() == {"SSD", "SDN"}
    assert mother.feared_countries == ["SSD"]


@pytest.mark.parametrize(
    "lookup",
    [
        _lookup("South Sudan"),
        _lookup("south sudan"),
        _lookup("Republic of South Sudan"),
        _lookup("SSD"),
        _lookup("Soudan du Sud", iso="SSD"),  # display name unknown, ISO code authoritative
        _lookup("South Sudan", iso="728"),
        _lookup("South Sudan", iso="ss"),
    ],
)
def test_nationality_in_any_form_is_normalised(
    progres: Any, notification: dict[str, Any], lookup: dict[str, str]
) -> None:
    notification["individuals"][MOTHER]["progres_nationality"] = [lookup]
    event = progres.parse(BN, _body(notification))
    assert event.mother.nationalities == ["SSD"]


def test_a_lookup_whose_name_and_code_disagree_is_a_problem(
    progres: Any, notification: dict[str, Any]
) -> None:
    notification["individuals"][FATHER]["progres_countryoforigin"] = _lookup("Kenya", iso="SSD")
    problems = _problems(progres, _body(notification))
    assert [p.location for p in problems] == ["/individuals/2/progres_countryoforigin"]


def test_a_nationality_two_states_go_by_counts_as_both(
    progres: Any, notification: dict[str, Any]
) -> None:
    notification["individuals"][MOTHER]["progres_nationality"] = [_lookup("Congo")]
    event = progres.parse(BN, _body(notification))
    assert event.mother.nationalities == ["COD", "COG"]
    assert {"COD", "COG"} <= event.mother.risk_countries()


def test_a_country_of_origin_two_states_go_by_is_a_problem_not_a_guess(
    progres: Any, notification: dict[str, Any]
) -> None:
    notification["individuals"][FATHER]["progres_countryoforigin"] = _lookup("Congo")
    problems = _problems(progres, _body(notification))
    assert len(problems) == 1
    assert "COD or COG" in problems[0].message


def test_an_unknown_country_is_a_problem_not_a_pass(
    progres: Any, notification: dict[str, Any]
) -> None:
    notification["individuals"][MOTHER]["progres_nationality"].append(_lookup("Atlantis"))
    problems = _problems(progres, _body(notification))
    assert problems == [Problem("/individuals/1/progres_nationality/1/Name", "unknown country")]


def test_unknown_option_set_codes_are_problems(progres: Any, notification: dict[str, Any]) -> None:
    notification["individuals"][CHILD]["progres_sex"] = 125089999
    notification["individuals"][MOTHER]["progres_specificneeds"] = [125080012, 42]
    notification["individuals"][FATHER]["progres_legalstatus"] = 7
    problems = _problems(progres, _body(notification))
    assert {p.location for p in problems} == {
        "/individuals/0/progres_sex",
        "/individuals/1/progres_specificneeds/1",
        "/individuals/2/progres_legalstatus",
    }
    assert all("unknown option-set value" in p.message for p in problems)


def test_two_missing_fields_are_two_problems(progres: Any, notification: dict[str, Any]) -> None:
    del notification["individuals"][CHILD]["progres_individualid"]
    del notification["individuals"][MOTHER]["progres_sex"]
    problems = _problems(progres, _body(notification))
    assert problems == [
        Problem("/individuals/0", "'progres_individualid' is a required property"),
        Problem("/individuals/1", "'progres_sex' is a required property"),
    ]


def test_every_kind_of_problem_is_listed_together(
    progres: Any, notification: dict[str, Any]
) -> None:
    del notification["progres_countryofbirth"]
    notification["progres_multiplebirth"] = "no"
    notification["individuals"][CHILD]["progres_sex"] = 1
    notification["individuals"][FATHER]["progres_nationality"] = [_lookup("Narnia")]
    problems = _problems(progres, _body(notification))
    assert {p.location for p in problems} == {
        "/",
        "/progres_multiplebirth",
        "/individuals/0/progres_sex",
        "/individuals/2/progres_nationality/0/Name",
    }


def test_a_date_of_birth_in_the_future_is_a_problem(notification: dict[str, Any]) -> None:
    adapter = ProgresAdapter(
        load_mapping_set("adapters.progres", "progres"), today=lambda: dt.date(2025, 2, 1)
    )
    problems = _problems(adapter, _body(notification))
    assert {p.location for p in problems} == {
        "/progres_dateofbirth",
        "/individuals/0/progres_dateofbirth",
    }
    assert all(p.message == "date is in the future" for p in problems)


def test_a_child_born_before_its_mother_is_a_problem(
    progres: Any, notification: dict[str, Any]
) -> None:
    notification["individuals"][MOTHER]["progres_dateofbirth"] = "2025-04-01"
    problems = _problems(progres, _body(notification))
    assert problems == [
        Problem("/individuals/1/progres_dateofbirth", "the child is not born after the mother")
    ]


TODAY = dt.date(2025, 3, 10)  # the fixture's child was born on 2025-03-02


def _on_today() -> ProgresAdapter:
    return ProgresAdapter(load_mapping_set("adapters.progres", "progres"), today=lambda: TODAY)


@pytest.mark.parametrize(
    ("who", "born", "message"),
    [
        (MOTHER, "2022-01-01", "the mother's age at the child's birth is outside 10-60 years"),
        (MOTHER, "2015-03-03", "the mother's age at the child's birth is outside 10-60 years"),
        (MOTHER, "1964-03-01", "the mother's age at the child's birth is outside 10-60 years"),
        (FATHER, "2013-03-03", "the father's age at the child's birth is outside 12-90 years"),
        (FATHER, "1934-03-01", "the father's age at the child's birth is outside 12-90 years"),
    ],
    ids=["mother-aged-3", "mother-aged-9", "mother-aged-61", "father-aged-11", "father-aged-91"],
)
def test_an_implausible_parent_age_is_a_problem(
    notification: dict[str, Any], who: int, born: str, message: str
) -> None:
    notification["individuals"][who]["progres_dateofbirth"] = born
    problems = _problems(_on_today(), _body(notification))
    assert problems == [Problem(f"/individuals/{who}/progres_dateofbirth", message)]


@pytest.mark.parametrize(
    ("mother", "father"),
    [("2015-03-02", "2013-03-02"), ("1965-03-02", "1935-03-02")],
    ids=["youngest", "oldest"],
)
def test_parent_ages_at_the_bounds_are_plausible(
    notification: dict[str, Any], mother: str, father: str
) -> None:
    notification["individuals"][MOTHER]["progres_dateofbirth"] = mother
    notification["individuals"][FATHER]["progres_dateofbirth"] = father
    event = _on_today().parse(BN, _body(notification))
    assert isinstance(event, BirthEvent) and event.mother and event.father


@pytest.mark.parametrize(
    ("where", "born", "message"),
    [
        ([], "1889-12-31", "date is before 1890"),
        ([CHILD], "1889-12-31", "date is before 1890"),
        ([CHILD], "1894-03-09", "date is more than 130 years ago"),
    ],
    ids=["event-before-1890", "person-before-1890", "person-over-130"],
)
def test_a_date_of_birth_too_long_ago_is_a_problem(
    notification: dict[str, Any], where: list[int], born: str, message: str
) -> None:
    record = notification["individuals"][where[0]] if where else notification
    record["progres_dateofbirth"] = born
    problems = _problems(_on_today(), _body(notification))
    at = f"/individuals/{where[0]}/progres_dateofbirth" if where else "/progres_dateofbirth"
    assert Problem(at, message) in problems


def test_a_person_130_years_old_is_old_but_possible(notification: dict[str, Any]) -> None:
    notification["individuals"][MOTHER]["progres_dateofbirth"] = "1895-03-10"
    problems = _problems(_on_today(), _body(notification))
    assert problems == [  # as a mother, not as a person
        Problem(
            "/individuals/1/progres_dateofbirth",
            "the mother's age at the child's birth is outside 10-60 years",
        )
    ]


def test_a_child_whose_date_differs_from_the_birth_is_a_problem(
    progres: Any, notification: dict[str, Any]
) -> None:
    notification["individuals"][CHILD]["progres_dateofbirth"] = "2025-03-01"
    problems = _problems(progres, _body(notification))
    assert [p.location for p in problems] == ["/individuals/0/progres_dateofbirth"]


def test_a_birth_without_parents_is_a_problem(progres: Any, notification: dict[str, Any]) -> None:
    notification["individuals"] = notification["individuals"][:1]
    problems = _problems(progres, _body(notification))
    assert problems == [
        Problem("/individuals", "missing parent: no individual is the mother or the father")
    ]


def test_one_parent_is_enough(progres: Any, notification: dict[str, Any]) -> None:
    del notification["individuals"][FATHER]
    event = progres.parse(BN, _body(notification))
    assert event.father is None
    assert [link.relationship for link in event.child.family_links] == [Relationship.MOTHER]


def test_roles_must_make_a_birth(progres: Any, notification: dict[str, Any]) -> None:
    notification["individuals"][FATHER]["progres_birthrole"] = 125080000  # a second mother
    notification["individuals"][CHILD]["progres_birthrole"] = 125080004  # a sibling
    messages = {p.message for p in _problems(progres, _body(notification))}
    assert messages == {
        "more than one individual is the mother",
        "role 'sibling' takes no part in a birth",
        "no individual is the child",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"progres_dateofbirth": "2025-03-02",', "message is not JSON"),
        (b'{"progres_placeofbirth": "Kakuma \xff\xfe"}', "message is not UTF-8 JSON"),
        (b"[]", "message is not a JSON object"),
        (b'"a string"', "message is not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "message is not JSON"),
        (b'{"a":' * 200 + b"1" + b"}" * 200, "message is not acceptable"),
        (b'{"progres_multiplebirth": 1e999}', "message is not JSON"),
        (b'{"progres_multiplebirth": ' + b"9" * 5000 + b"}", "message is not JSON"),
        (b'{"progres_multiplebirth": NaN}', "message is not JSON"),
        (b'{"individuals": [], "individuals": []}', "message is not JSON"),
    ],
    ids=[
        "malformed",
        "not-utf8",
        "array",
        "string",
        "deeply-nested-array",
        "deeply-nested-object",
        "huge-float",
        "huge-int",
        "nan",
        "duplicate-key",
    ],
)
def test_hostile_or_broken_bodies_are_parse_errors(progres: Any, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        progres.parse(BN, body)
    assert caught.value.problems and all(p.location == "/" for p in caught.value.problems)


def test_problems_do_not_echo_personal_data(progres: Any, notification: dict[str, Any]) -> None:
    notification["individuals"][MOTHER]["progres_givenname"] = "Achol" * 30  # too long
    problems = _problems(progres, _body(notification))
    assert problems == [Problem("/individuals/1/progres_givenname", "violates maxLength 100")]
    assert "Achol" not in repr(problems)


@pytest.mark.parametrize(
    ("attribute", "value", "where"),
    [
        ("progres_individualid", "KKM-25-001234\n", "progres_individualid"),
        ("progres_dateofbirth", "2025-03-02\n", "progres_dateofbirth"),
        # Whitespace to strip(); \x1c-\x1f were too, and are now refused as control characters.
        ("progres_givenname", "\u2028\u3000", "progres_givenname"),
    ],
)
def test_values_the_two_schema_validators_once_read_differently_are_refused(
    progres: Any, notification: dict[str, Any], attribute: str, value: str, where: str
) -> None:
    notification["individuals"][CHILD][attribute] = value
    problems = _problems(progres, _body(notification))
    assert Problem(f"/individuals/0/{where}", "fails the 'pattern' rule") in problems


def test_a_lone_surrogate_is_refused_at_parse_not_when_rendered(
    progres: Any, notification: dict[str, Any]
) -> None:
    notification["individuals"][CHILD]["progres_givenname"] = "Nyandeng\ud800"
    body = json.dumps(notification).encode()  # ASCII, so the surrogate is a \\ud800 escape
    assert b"\\ud800" in body
    assert _problems(progres, body) == [
        Problem("/individuals/0/progres_givenname", "string holds a lone surrogate")
    ]


def test_canonical_validation_errors_become_problems(notification: dict[str, Any]) -> None:
    # A spec may carry person.ref in any individual attribute; a ref has at most 64 characters.
    shipped = load_mapping_set("adapters.progres", "progres")
    spec = shipped.spec(BN)
    fields = [
        f.model_copy(update={"native": "progres_familyname"}) if f.canonical == "person.ref" else f
        for f in spec.fields
    ]
    specs = {**shipped.specs, BN: spec.model_copy(update={"fields": fields})}
    adapter = ProgresAdapter(MappingSet("progres", specs, shipped.codelists))
    notification["individuals"][FATHER]["progres_familyname"] = "Kuol"  # refs must be unique
    notification["individuals"][MOTHER]["progres_familyname"] = "M" * 80
    with pytest.raises(ParseError) as caught:
        adapter.parse(BN, _body(notification))
    assert isinstance(caught.value.__cause__, ValidationError)
    assert [p.location for p in caught.value.problems] == ["canonical:mother.ref"]


def _registration(**changes: Any) -> BirthRegistration:
    child = Person(
        ref="c1", identifiers=[Identifier(scheme="progres-individual", value="KKM-25-001234")]
    )
    values: dict[str, Any] = {
        "child": child,
        "registration_number": "2025KE0001234",
        "tracking_id": "BALYJMQ",
        "registered_at": dt.datetime(2025, 3, 20, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=3))),
    }
    return BirthRegistration(**{**values, **changes})


def test_renders_the_registration_as_a_progres_update(progres: Any) -> None:
    rendered = progres.render(CONFIRMATION, _registration())
    assert rendered.content_type == "application/json"
    assert rendered.body == (
        b'{"progres_birthcertificatenumber":"2025KE0001234",'
        b'"progres_birthregistrationdate":"2025-03-20T06:30:00.000Z",'
        b'"progres_civilregistrationtrackingid":"BALYJMQ",'
        b'"progres_individualid":"KKM-25-001234"}'
    )
    assert progres.render(CONFIRMATION, _registration()).body == rendered.body


def test_optional_attributes_are_left_out(progres: Any) -> None:
    body = json.loads(
        progres.render(CONFIRMATION, _registration(tracking_id=None, registered_at=None)).body
    )
    assert body == {
        "progres_individualid": "KKM-25-001234",
        "progres_birthcertificatenumber": "2025KE0001234",
    }


def test_a_registration_without_a_progres_id_cannot_be_rendered(progres: Any) -> None:
    other = Person(ref="c1", identifiers=[Identifier(scheme="national-id", value="123")])
    with pytest.raises(InvalidInput, match="cannot be linked"):
        progres.render(CONFIRMATION, _registration(child=other))


def test_unsupported_message_types_and_payloads_are_refused(
    progres: Any, birth: BirthEvent
) -> None:
    with pytest.raises(EnvelopeError):
        progres.parse(CONFIRMATION, b"{}")
    with pytest.raises(EnvelopeError):
        progres.render(BN, birth)
    with pytest.raises(TypeError):
        progres.render(CONFIRMATION, birth)

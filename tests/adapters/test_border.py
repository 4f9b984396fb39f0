"""The border adapter: the conformance kit, and what its parse and render mean."""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files
from typing import Any

import pytest

from adapters.border import BorderAdapter
from adapters.kit.mapping import MappingSpec, load_mapping_set
from gateway.canonical.referral import REFERRAL, Referral, ReferralKind, Urgency
from gateway.errors import ConfigurationError, EnvelopeError, GatewayError, ParseError

TODAY = dt.date(2026, 12, 1)
SAMPLES = files("adapters.border").joinpath("fixtures", REFERRAL)


@pytest.fixture(scope="module")
def border() -> BorderAdapter:
    return BorderAdapter(today=lambda: TODAY)


def sample(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SAMPLES.joinpath(name).read_bytes())
    return doc


def parse(border: BorderAdapter, doc: dict[str, Any]) -> Referral:
    referral = border.parse(REFERRAL, json.dumps(doc).encode())
    assert isinstance(referral, Referral)
    return referral


def refusal(border: BorderAdapter, doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ParseError) as caught:
        border.parse(REFERRAL, json.dumps(doc).encode())
    assert caught.value.status == 422
    return {p.location: p.message for p in caught.value.problems}


def test_parses_an_asylum_referral_into_canonical_codes(border: BorderAdapter) -> None:
    referral = parse(border, sample("asylum-adult-with-passport.json"))
    assert (referral.kind, referral.urgency) == (ReferralKind.ASYLUM, Urgency.ROUTINE)
    assert referral.reasons == ["fear_of_return"]
    assert (referral.referred_on, referral.from_office, referral.to_authority) == (
        dt.date(2026, 11, 30),
        "BP-7",
        "uto-rsd",
    )
    person = referral.person
    assert person.names[0].given == ["Amina", "Hodan"] and person.names[0].family == "Testperson"
    assert (person.sex, person.nationalities, person.feared_countries) == (
        "female",
        ["SOM"],
        ["SOM"],
    )
    assert person.documents[0].number == "XP0000001"
    assert person.documents[0].expiry == dt.date(2030, 1, 31)


def test_dropped_attributes_never_reach_the_canonical_referral(border: BorderAdapter) -> None:
    referral = parse(border, sample("asylum-adult-with-passport.json"))
    dumped = referral.model_dump_json()
    for value in ("officer-0815", "interpreter", "BIO-7-000123"):
        assert value not in dumped
    assert "officerNotes" not in border.render(REFERRAL, referral).body.decode()
    dropped = {d.native for d in border.mappings.spec(REFERRAL).dropped}
    assert dropped == {"officerNotes", "recordedBy", "biometricRef"}


def test_icao_country_codes_are_read_and_written(border: BorderAdapter) -> None:
    referral = parse(border, sample("trafficking-german-document.json"))
    assert referral.person.nationalities == ["DEU", "NGA"]
    assert referral.person.documents[0].issuing_country == "DEU"
    written = json.loads(border.render(REFERRAL, referral).body)
    assert written["person"]["nationalities"] == ["D", "NGA"]
    assert written["person"]["documents"][0]["issuingState"] == "D"


def test_an_emergency_goes_with_minimal_data(border: BorderAdapter) -> None:
    referral = parse(border, sample("emergency-minimal-data.json"))
    assert referral.is_emergency and not referral.person.names
    assert referral.reasons == ["urgent_medical"]
    written = json.loads(border.render(REFERRAL, referral).body)
    assert set(written["person"]) == {"personRef", "sex", "dateOfBirth", "dateOfBirthEstimated"}


def test_renders_border_style_names_and_codes(border: BorderAdapter) -> None:
    referral = parse(border, sample("unaccompanied-child.json"))
    written = json.loads(border.render(REFERRAL, referral).body)
    assert (written["referralType"], written["urgency"]) == ("CHILD_PROTECTION", "PRIORITY")
    assert written["reasonCodes"] == ["UNACCOMPANIED_CHILD"]
    assert written["person"]["otherNames"] == [
        {"familyName": "Example", "givenNames": ["Dawit", "Tesfay"]}
    ]
    assert border.check_rendered(REFERRAL, border.render(REFERRAL, referral).body) == []


def test_a_reason_the_border_system_lacks_is_not_written(border: BorderAdapter) -> None:
    referral = parse(border, sample("unaccompanied-child.json"))
    odd = referral.model_copy(update={"reasons": ["unaccompanied_child", "needs_interpreter"]})
    written = json.loads(border.render(REFERRAL, odd).body)
    assert written["reasonCodes"] == ["UNACCOMPANIED_CHILD"]


def test_every_problem_is_listed_together_without_values(border: BorderAdapter) -> None:
    doc = sample("asylum-adult-with-passport.json")
    doc["referralType"] = "DEPORTATION_ORDER"
    doc["referredOn"] = "2027-01-05"
    doc["person"]["sex"] = "Q"
    doc["person"]["nationalities"] = ["QQQ"]
    doc["person"]["documents"][0]["expiryDate"] = "2030-02-31"
    del doc["referralId"]
    problems = refusal(border, doc)
    assert problems == {
        "/": "'referralId' is a required property",
        "/referralType": "is not a code of the referral-kind list",
        "/referredOn": "date is in the future",
        "/person/sex": "is not a code of the sex list",
        "/person/nationalities/0": "is not a code of the country list",
        "/person/documents/0/expiryDate": "is not a valid date",
    }
    said = json.dumps(problems)
    assert not any(v in said for v in ("DEPORTATION", "QQQ", "2030-02-31", "Testperson"))


def test_a_referral_naming_nobody_is_refused_unless_an_emergency(border: BorderAdapter) -> None:
    doc = sample("emergency-minimal-data.json")
    doc["referralType"], doc["urgency"] = "ASYLUM_PROCEDURE", "ROUTINE"
    assert "/person" in refusal(border, doc)
    doc["urgency"] = "IMMEDIATE"  # an emergency by its urgency alone
    assert parse(border, doc).urgency is Urgency.EMERGENCY
    doc["urgency"] = "ROUTINE"
    doc["person"]["personIds"] = [{"idScheme": "progres-individual", "idValue": "XYZ-1"}]
    assert parse(border, doc).person.identifiers[0].value == "XYZ-1"


def test_a_referral_dated_tomorrow_is_a_time_zone_not_an_error(border: BorderAdapter) -> None:
    doc = sample("asylum-adult-with-passport.json")
    doc["referredOn"] = (TODAY + dt.timedelta(days=1)).isoformat()
    assert parse(border, doc).referred_on == TODAY + dt.timedelta(days=1)


@pytest.mark.parametrize(
    "where",
    [
        ("reasonCodes",),
        ("person", "documents"),
        ("person", "personIds"),
        ("person", "otherNames"),
        ("person", "nationalities"),
    ],
)
def test_a_huge_list_is_refused_cheaply(border: BorderAdapter, where: tuple[str, ...]) -> None:
    doc = sample("asylum-adult-with-passport.json")
    items: dict[tuple[str, ...], Any] = {
        ("reasonCodes",): "NOT_A_CODE",
        ("person", "documents"): {"documentType": "P", "documentNumber": "1", "issuingState": "QQ"},
        ("person", "personIds"): {"idScheme": "s"},
        ("person", "otherNames"): {"givenNames": []},
        ("person", "nationalities"): "QQQ",
    }
    node = doc
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = [items[where]] * 20_000
    with pytest.raises(ParseError) as caught:
        border.parse(REFERRAL, json.dumps(doc).encode())
    # Read no further than the schema's maxItems: the excess is one problem, not 20,000.
    assert len(caught.value.problems) <= 100
    assert any("maxItems" in p.message for p in caught.value.problems)


def test_unsupported_message_types_and_payloads_are_refused(border: BorderAdapter) -> None:
    with pytest.raises(EnvelopeError):
        border.parse("birth-notification", b"{}")
    with pytest.raises(EnvelopeError):
        border.render("birth-notification", parse(border, sample("unaccompanied-child.json")))
    with pytest.raises(TypeError):
        border.render(REFERRAL, object())  # type: ignore[arg-type]


def test_a_value_the_border_system_cannot_hold_is_not_rendered(border: BorderAdapter) -> None:
    referral = parse(border, sample("unaccompanied-child.json"))
    long_name = referral.person.model_copy(
        update={"names": [referral.person.names[0].model_copy(update={"family": "x" * 101})]}
    )
    with pytest.raises(GatewayError) as caught:
        border.render(REFERRAL, referral.model_copy(update={"person": long_name}))
    assert "x" * 101 not in str(caught.value.problems)


def test_a_spec_naming_an_attribute_of_another_record_fails_at_build() -> None:
    mappings = load_mapping_set("adapters.border", "border")
    spec = mappings.spec(REFERRAL)
    fields = [
        f.model_copy(update={"native": "documentNumber"}) if f.canonical == "referral.id" else f
        for f in spec.fields
    ]
    mappings.specs[REFERRAL] = MappingSpec.model_validate({**spec.model_dump(), "fields": fields})
    with pytest.raises(ConfigurationError, match="not an attribute of referral"):
        BorderAdapter(mappings)

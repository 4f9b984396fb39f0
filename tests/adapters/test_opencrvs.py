"""The OpenCRVS adapter: strictly valid STU3 notifications out, registered births in."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from fhir.resources.STU3.bundle import Bundle

from adapters.opencrvs.profile import check_birth_notification
from adapters.opencrvs.stu3 import stu3_problems
from gateway.canonical import (
    BirthEvent,
    BirthRegistration,
    DataCategory,
    Identifier,
    Person,
    PersonName,
)
from gateway.demo.flow import demo_data
from gateway.errors import EnvelopeError, ParseError, Problem

BN = "birth-notification"
CONFIRMATION = "birth-registration-confirmation"
PROGRES_SYSTEM = "http://unhcr.org/progres/individual"
# Values of the Postman collection's own variables; each uuid placeholder gets its own uuid.
POSTMAN_VARIABLES = {
    "officeId": "0be1dc9b-5c8b-4d20-a88c-08cafc71c99a",
    "facilityId": "d89c1114-eddc-4dca-8352-4d2105c876f8",
    "countryCode": "FAR",
    "districtId": "c24c0b72-11b5-4c1a-bbb7-61112fa6f481",
    "stateId": "da30f792-d28c-4a92-bb2f-43d6a8ef9254",
}


def _bundle(body: bytes) -> dict[str, Any]:
    data = json.loads(body)
    assert isinstance(data, dict)
    return data


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _by_url(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def _section(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    composition = bundle["entry"][0]["resource"]
    ref = next(
        s["entry"][0]["reference"]
        for s in composition["section"]
        if s["code"]["coding"][0]["code"] == code
    )
    return _by_url(bundle)[ref]


def _postman(read_fixture: Any, name: str) -> dict[str, Any]:
    raw = read_fixture(f"opencrvs/postman-birth-notification-{name}.json").decode()
    fresh = {
        p: str(uuid.uuid5(uuid.NAMESPACE_URL, p)) for p in re.findall(r"\{\{(uuid_\w+)\}\}", raw)
    }
    filled = re.sub(r"\{\{(\w+)\}\}", lambda m: {**POSTMAN_VARIABLES, **fresh}[m[1]], raw)
    return _bundle(filled.encode())


# -- rendering -----------------------------------------------------------------------------


def test_renders_a_strictly_valid_stu3_bundle_that_meets_the_profile(
    opencrvs: Any, birth: BirthEvent
) -> None:
    rendered = opencrvs.render(BN, birth)
    bundle = _bundle(rendered.body)
    assert rendered.content_type == "application/json"
    assert stu3_problems(bundle) == []
    assert check_birth_notification(bundle) == []
    parsed = Bundle.model_validate(bundle)  # the STU3 model, as OpenCRVS speaks STU3
    assert parsed.entry is not None and parsed.entry[0].resource is not None
    assert parsed.entry[0].resource.get_resource_type() == "Composition"


def test_the_bundle_holds_the_expected_names_and_codes(opencrvs: Any, birth: BirthEvent) -> None:
    bundle = _bundle(opencrvs.render(BN, birth).body)
    composition = bundle["entry"][0]["resource"]
    assert composition["type"]["coding"] == [
        {"system": "http://opencrvs.org/doc-types", "code": "birth-notification"}
    ]
    assert composition["date"] == "2025-03-02T00:00:00Z"
    assert _by_url(bundle)[composition["author"][0]["reference"]]["resourceType"] == "Organization"
    child = _section(bundle, "child-details")
    assert child["name"] == [{"use": "en", "given": ["Nyandeng"], "family": "Deng"}]
    assert child["gender"] == "female" and child["birthDate"] == "2025-03-02"
    assert child["identifier"] == [{"system": PROGRES_SYSTEM, "value": "KKM-25-001234"}]
    assert composition["subject"]["reference"] == bundle["entry"][2]["fullUrl"]
    mother = _section(bundle, "mother-details")
    assert mother["name"][0]["given"] == ["Achol"] and mother["gender"] == "female"
    assert mother["extension"] == [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/patient-nationality",
            "extension": [
                {
                    "url": "code",
                    "valueCodeableConcept": {
                        "coding": [{"system": "urn:iso:std:iso:3166", "code": "SSD"}]
                    },
                }
            ],
        }
    ]
    assert _section(bundle, "father-details")["gender"] == "male"
    informant = _section(bundle, "informant-details")
    assert informant["relationship"]["coding"][0]["code"] == "MOTHER"
    assert _by_url(bundle)[informant["patient"]["reference"]] is mother
    encounter = _section(bundle, "birth-encounter")
    location = _by_url(bundle)[encounter["location"][0]["location"]["reference"]]
    assert location["address"] == {"country": "KEN"}
    assert location["name"] == "Kakuma Refugee Camp, Kakuma 4, Turkana County"
    (task,) = _resources(bundle, "Task")
    assert task["code"]["coding"] == [
        {"system": "http://opencrvs.org/specs/types", "code": "BIRTH"}
    ]
    assert task["focus"]["reference"] == bundle["entry"][0]["fullUrl"]
    assert task["extension"][0]["valueString"] == "MOTHER"


def test_what_opencrvs_never_receives_is_not_sent(opencrvs: Any, birth: BirthEvent) -> None:
    body = opencrvs.render(BN, birth).body.decode()
    for secret in ("Refugee ID", "KKM-RID-0045671", "SDN", "refugee", "PG", "feared"):
        assert secret not in body


def test_rendering_is_deterministic(opencrvs: Any, birth: BirthEvent) -> None:
    first = opencrvs.render(BN, birth).body
    assert opencrvs.render(BN, birth.model_copy(deep=True)).body == first
    urls = [e["fullUrl"] for e in _bundle(first)["entry"]]
    assert all(u.startswith("urn:uuid:") for u in urls) and len(set(urls)) == len(urls)
    other = birth.model_copy(update={"place": "Kakuma 3"})
    other_urls = {e["fullUrl"] for e in _bundle(opencrvs.render(BN, other).body)["entry"]}
    assert other_urls.isdisjoint(urls)


def test_a_minimised_birth_still_renders_valid(opencrvs: Any, birth: BirthEvent) -> None:
    minimised = birth.minimised(frozenset({DataCategory.BIRTH}))
    bundle = _bundle(opencrvs.render(BN, minimised).body)
    assert stu3_problems(bundle) == [] and check_birth_notification(bundle) == []
    child = _section(bundle, "child-details")
    assert "name" not in child and "identifier" not in child
    assert child["gender"] == "unknown" and child["birthDate"] == "2025-03-02"


def test_a_birth_with_only_a_father_names_him_informant(opencrvs: Any, birth: BirthEvent) -> None:
    bundle = _bundle(opencrvs.render(BN, birth.model_copy(update={"mother": None})).body)
    assert stu3_problems(bundle) == [] and check_birth_notification(bundle) == []
    assert _section(bundle, "informant-details")["relationship"]["coding"][0]["code"] == "FATHER"
    codes = [s["code"]["coding"][0]["code"] for s in bundle["entry"][0]["resource"]["section"]]
    assert "mother-details" not in codes


def test_text_that_fhir_forbids_is_cleaned_or_left_out(opencrvs: Any, birth: BirthEvent) -> None:
    odd = birth.child.model_copy(
        update={
            "names": [PersonName(given=["", "Nya\u00a0 deng "], family=" ")],
            "identifiers": [
                Identifier(scheme="unagreed-scheme", value="x"),  # no system URI agreed
                Identifier(scheme="progres-individual", value="KKM\u00a025"),  # not a FHIR string
                Identifier(scheme="progres-individual", value="KKM-25-001234"),
            ],
        }
    )
    bundle = _bundle(
        opencrvs.render(BN, birth.model_copy(update={"child": odd, "place": " "})).body
    )
    assert stu3_problems(bundle) == []
    child = _section(bundle, "child-details")
    assert child["name"] == [{"use": "en", "given": ["Nya deng"]}]
    assert child["identifier"] == [{"system": PROGRES_SYSTEM, "value": "KKM-25-001234"}]
    assert "name" not in _resources(bundle, "Location")[0]


def test_unsupported_message_types_and_payloads_are_refused(
    opencrvs: Any, birth: BirthEvent
) -> None:
    with pytest.raises(EnvelopeError):
        opencrvs.parse(BN, b"{}")
    with pytest.raises(EnvelopeError):
        opencrvs.render(CONFIRMATION, birth)
    with pytest.raises(TypeError):
        opencrvs.render(BN, birth.child)


# -- the profile against OpenCRVS's own bodies ---------------------------------------------


@pytest.mark.parametrize("name", ["min", "max"])
def test_the_profile_accepts_opencrvs_own_notification_bodies(read_fixture: Any, name: str) -> None:
    assert check_birth_notification(_postman(read_fixture, name)) == []


@pytest.mark.parametrize("name", ["min", "max"])
def test_opencrvs_own_bodies_are_not_strict_stu3(read_fixture: Any, name: str) -> None:
    problems = stu3_problems(_postman(read_fixture, name))
    assert any("empty" in p.message for p in problems)  # why the renderer writes a superset


def test_strict_stu3_rejects_the_min_body_for_its_missing_author(read_fixture: Any) -> None:
    problems = stu3_problems(_postman(read_fixture, "min"))
    assert Problem("/entry/0/resource/author", "Field required") in problems


def _broken(bundle: dict[str, Any], how: str) -> dict[str, Any]:
    broken = copy.deepcopy(bundle)
    composition = broken["entry"][0]["resource"]
    if how == "composition-not-first":
        broken["entry"].reverse()
    elif how == "wrong-type":
        composition["type"]["coding"][0]["code"] = "death-notification"
    elif how == "dangling-reference":
        composition["section"][0]["entry"][0]["reference"] = "urn:uuid:nowhere"
    elif how == "no-child-section":
        composition["section"] = [
            s for s in composition["section"] if s["code"]["coding"][0]["code"] != "child-details"
        ]
    elif how == "no-task":
        broken["entry"] = [e for e in broken["entry"] if e["resource"]["resourceType"] != "Task"]
    elif how == "task-focus":
        next(e for e in broken["entry"] if e["resource"]["resourceType"] == "Task")["resource"][
            "focus"
        ]["reference"] = "urn:uuid:other"
    elif how == "section-points-at-wrong-kind":
        task_url = next(
            e["fullUrl"] for e in broken["entry"] if e["resource"]["resourceType"] == "Task"
        )
        composition["section"][0]["entry"][0]["reference"] = task_url
    return broken


@pytest.mark.parametrize(
    ("how", "location"),
    [
        ("composition-not-first", "/entry/0/resource/resourceType"),
        ("wrong-type", "/entry/0/resource/type"),
        ("dangling-reference", "/entry/0/resource/section/0/entry/0/reference"),
        ("no-child-section", "/entry/0/resource/section"),
        ("no-task", "/entry"),
        ("task-focus", "/entry/1/resource/focus"),
        ("section-points-at-wrong-kind", "/entry/0/resource/section"),
    ],
)
def test_the_profile_names_what_is_wrong(
    opencrvs: Any, birth: BirthEvent, how: str, location: str
) -> None:
    problems = check_birth_notification(_broken(_bundle(opencrvs.render(BN, birth).body), how))
    assert location in {p.location for p in problems}


# -- parsing the registry's answer ---------------------------------------------------------


def test_parses_the_registered_birth(opencrvs: Any, read_fixture: Any) -> None:
    registration = opencrvs.parse(CONFIRMATION, demo_data("opencrvs-registered-birth.json"))
    assert isinstance(registration, BirthRegistration)
    assert registration.registration_number == "2019333494BALYJMQ8"
    assert registration.tracking_id == "BALYJMQ"
    assert registration.registered_at == dt.datetime(2019, 10, 8, 6, 42, 7, 666000, tzinfo=dt.UTC)
    child = registration.child
    assert child.identifiers == [Identifier(scheme="progres-individual", value="KKM-25-001234")]
    assert child.names == [PersonName(given=["Nyandeng"], family="Deng")]  # the bn name has none
    assert child.sex == "female"


def _confirmation(read_fixture: Any) -> dict[str, Any]:
    return _bundle(demo_data("opencrvs-registered-birth.json"))


def _task(bundle: dict[str, Any]) -> dict[str, Any]:
    return _resources(bundle, "Task")[0]


def test_every_reason_the_answer_cannot_be_used_is_listed(opencrvs: Any, read_fixture: Any) -> None:
    bundle = _confirmation(read_fixture)
    task = _task(bundle)
    task["businessStatus"]["coding"][0]["code"] = "VALIDATED"
    task["identifier"] = [i for i in task["identifier"] if "registration-number" not in i["system"]]
    del _section(bundle, "child-details")["identifier"]
    with pytest.raises(ParseError) as caught:
        opencrvs.parse(CONFIRMATION, json.dumps(bundle).encode())
    assert {(p.location, p.message.split(" (")[0]) for p in caught.value.problems} == {
        ("/entry/3/resource/businessStatus", "birth is not registered"),
        ("/entry/3/resource/identifier", "no birth registration number"),
        ("/entry/4/resource/identifier", "child has no identifier to link back"),
    }


def test_identifiers_of_other_systems_do_not_link(opencrvs: Any, read_fixture: Any) -> None:
    bundle = _confirmation(read_fixture)
    _section(bundle, "child-details")["identifier"] = [{"system": "urn:national-id", "value": "1"}]
    with pytest.raises(ParseError, match="invalid OpenCRVS"):
        opencrvs.parse(CONFIRMATION, json.dumps(bundle).encode())


def test_the_schema_and_the_profile_both_report(opencrvs: Any, read_fixture: Any) -> None:
    bundle = _confirmation(read_fixture)
    _task(bundle)["lastModified"] = 20191008
    _section(bundle, "child-details")["gender"] = "f"
    bundle["entry"][0]["resource"]["section"][2]["entry"][0]["reference"] = "urn:uuid:gone"
    with pytest.raises(ParseError) as caught:
        opencrvs.parse(CONFIRMATION, json.dumps(bundle).encode())
    assert {p.location for p in caught.value.problems} == {
        "/entry/3/resource/lastModified",  # schema: not a string
        "/entry/4/resource/gender",  # code list: not a FHIR gender
        "/entry/0/resource/section/2/entry/0/reference",  # profile: mother-details dangles
    }


@pytest.mark.parametrize(
    ("character", "code"), [("\u202e", "U+202E"), ("\x00", "U+0000"), ("\x1b", "U+001B")]
)
def test_a_control_character_in_the_registry_answer_is_refused(
    opencrvs: Any, read_fixture: Any, character: str, code: str
) -> None:
    bundle = _confirmation(read_fixture)
    child = _section(bundle, "child-details")
    child["name"][1]["given"][0] = "Nyan" + character + "deng"
    where = next(i for i, e in enumerate(bundle["entry"]) if e["resource"] is child)
    with pytest.raises(ParseError, match="message is not acceptable") as caught:
        opencrvs.parse(CONFIRMATION, json.dumps(bundle).encode())
    assert caught.value.problems == [
        Problem(f"/entry/{where}/resource/name/1/given/0", f"string holds control character {code}")
    ]


@pytest.mark.parametrize(
    "body",
    [b"{", b"\xff\xfe{}", b"[]", b'{"resourceType": "Patient"}', b"[" * 50_000],
    ids=["malformed", "not-utf8", "array", "not-a-bundle", "deeply-nested"],
)
def test_bad_answers_are_parse_errors(opencrvs: Any, body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        opencrvs.parse(CONFIRMATION, body)
    assert caught.value.problems


# -- the round trip --------------------------------------------------------------------------


def test_round_trip_progres_to_opencrvs_and_back(registry: Any, read_fixture: Any) -> None:
    progres, opencrvs = registry.get("progres"), registry.get("opencrvs")
    birth = progres.parse(BN, demo_data("progres-birth-notification.json"))
    bundle = _bundle(opencrvs.render(BN, birth).body)
    assert stu3_problems(bundle) == [] and check_birth_notification(bundle) == []

    # OpenCRVS registers the notified birth: same bundle, Task now REGISTERED with numbers.
    bundle["entry"][0]["resource"]["type"]["coding"][0]["code"] = "birth-declaration"
    _task(bundle).update(
        businessStatus={
            "coding": [{"system": "http://opencrvs.org/specs/reg-status", "code": "REGISTERED"}]
        },
        identifier=[
            {"system": "http://opencrvs.org/specs/id/birth-tracking-id", "value": "BKKM25Q"},
            {
                "system": "http://opencrvs.org/specs/id/birth-registration-number",
                "value": "2025KE0001234",
            },
        ],
        lastModified="2025-03-20T06:30:00.000Z",
    )
    registration = opencrvs.parse(CONFIRMATION, json.dumps(bundle).encode())
    assert registration.child.identifiers[0].value == birth.child.ref

    update = json.loads(progres.render(CONFIRMATION, registration).body)
    assert update == {
        "progres_individualid": "KKM-25-001234",
        "progres_birthcertificatenumber": "2025KE0001234",
        "progres_civilregistrationtrackingid": "BKKM25Q",
        "progres_birthregistrationdate": "2025-03-20T06:30:00.000Z",
    }


def test_the_confirmation_fixture_renders_for_progres(registry: Any, read_fixture: Any) -> None:
    registration = registry.get("opencrvs").parse(
        CONFIRMATION, demo_data("opencrvs-registered-birth.json")
    )
    update = json.loads(registry.get("progres").render(CONFIRMATION, registration).body)
    assert update["progres_individualid"] == "KKM-25-001234"
    assert update["progres_birthcertificatenumber"] == "2019333494BALYJMQ8"


def test_a_person_is_not_a_payload_opencrvs_renders(opencrvs: Any) -> None:
    with pytest.raises(TypeError):
        opencrvs.render(BN, Person(ref="x"))

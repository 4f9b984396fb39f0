"""The Primero adapter: child-protection referrals out as cases, Primero cases in as referrals."""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files
from typing import Any

import pytest

from adapters.kit.conformance.hostile import ANSWER_LIMIT, MARKER, answer_text, json_bodies
from adapters.kit.contract import Adapter, Outcome, ResponseReader
from adapters.kit.mapping import canonical_fields
from adapters.primero import PrimeroAdapter
from adapters.registry import AdapterRegistry
from gateway.canonical import Identifier, Person, PersonName
from gateway.canonical.categories import DataCategory
from gateway.canonical.referral import REFERRAL, Referral, ReferralKind, Urgency
from gateway.errors import MAX_PROBLEMS, EnvelopeError, GatewayError, InvalidInput, ParseError

FIXTURES = files("adapters.primero").joinpath("fixtures")


@pytest.fixture(scope="module")
def adapter() -> PrimeroAdapter:
    return PrimeroAdapter()


def _case() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        FIXTURES.joinpath("referral/unaccompanied-child-case.json").read_text("utf-8")
    )
    return doc


def _body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def _refused(adapter: PrimeroAdapter, body: bytes) -> ParseError:
    with pytest.raises(ParseError) as caught:
        adapter.parse(REFERRAL, body)
    assert caught.value.status == 422
    return caught.value


def _referral(**changes: Any) -> Referral:
    data: dict[str, Any] = {
        "id": "KKM-REF-2026-0042",
        "kind": ReferralKind.CHILD_PROTECTION,
        "urgency": Urgency.EMERGENCY,
        "reasons": ["unaccompanied_child", "trafficking_indicators", "fear_of_return"],
        "referred_on": dt.date(2026, 11, 30),
        "person": Person(
            ref="KKM-26-004417",
            names=[PersonName(given=["Achol"], family="Garang")],
            sex="female",
            birth_date={"date": dt.date(2013, 6, 1)},
            nationalities=["SSD"],
            identifiers=[Identifier(scheme="progres-individual", value="KKM-26-004417")],
        ),
    }
    return Referral.model_validate({**data, **changes})


def test_is_an_adapter_that_reads_answers(adapter: PrimeroAdapter) -> None:
    assert isinstance(adapter, Adapter) and isinstance(adapter, ResponseReader)
    registry = AdapterRegistry.from_factories({"primero": PrimeroAdapter})
    assert registry.mapping_version("primero", REFERRAL) == "primero/referral@1"


def test_parses_a_case_as_a_child_protection_referral(adapter: PrimeroAdapter) -> None:
    referral = adapter.parse(REFERRAL, _body(_case()))

    assert isinstance(referral, Referral)
    assert referral.id == "a7c31e9"  # the case's own reference, before other_agency_id
    assert referral.kind is ReferralKind.CHILD_PROTECTION
    assert referral.urgency is Urgency.EMERGENCY  # risk_level high
    assert referral.reasons == ["unaccompanied_child", "trafficking_indicators"]
    assert referral.referred_on == dt.date(2026, 11, 30)
    person = referral.person
    assert person.names == [PersonName(given=["Achol"], family="Garang")]
    assert person.sex == "female" and person.nationalities == ["SSD"]
    assert person.birth_date is not None and person.birth_date.date == dt.date(2013, 6, 1)
    assert person.identifiers == [Identifier(scheme="progres-individual", value="KKM-26-004417")]
    assert referral.categories() == {
        DataCategory.IDENTITY,
        DataCategory.NATIONALITY,
        DataCategory.IDENTIFIERS,
        DataCategory.SPECIFIC_NEEDS,
    }


def test_renders_an_unaccompanied_child_as_a_cp_case(adapter: PrimeroAdapter) -> None:
    rendered = adapter.render(REFERRAL, _referral())

    assert rendered.content_type == "application/json"
    assert json.loads(rendered.body) == {
        "data": {
            "module_id": "primeromodule-cp",
            "other_agency_id": "KKM-REF-2026-0042",
            "name_first": "Achol",
            "name_last": "Garang",
            "sex": "female",
            "date_of_birth": "2013-06-01",
            "nationality": ["SSD"],
            "unaccompanied_separated_status": "unaccompanied_minor",
            "protection_concerns": ["trafficked_smuggled"],  # fear_of_return has no Primero code
            "risk_level": "high",
            "registration_date": "2026-11-30",
            "unhcr_individual_no": "KKM-26-004417",
        }
    }
    assert rendered.body == adapter.render(REFERRAL, _referral()).body  # same bytes


def test_the_gravest_separation_status_wins(adapter: PrimeroAdapter) -> None:
    both = _referral(reasons=["separated_child", "unaccompanied_child"])
    case = json.loads(adapter.render(REFERRAL, both).body)["data"]
    assert case["unaccompanied_separated_status"] == "unaccompanied_minor"
    assert "protection_concerns" not in case


def test_round_trip_keeps_what_primero_holds(adapter: PrimeroAdapter) -> None:
    sent = _referral(reasons=["separated_child", "urgent_medical"], urgency=Urgency.PRIORITY)
    case = json.loads(adapter.render(REFERRAL, sent).body)
    case["data"]["case_id_display"] = sent.id
    back = adapter.parse(REFERRAL, _body(case))
    assert isinstance(back, Referral)
    assert back.model_dump(exclude={"person": {"ref"}}) == sent.model_dump(
        exclude={"person": {"ref"}}
    )


def test_an_emergency_goes_with_what_is_known(adapter: PrimeroAdapter) -> None:
    bare = _referral(person=Person(ref="p1"), reasons=[], urgency=Urgency.EMERGENCY)
    case = json.loads(adapter.render(REFERRAL, bare).body)["data"]
    assert case == {
        "module_id": "primeromodule-cp",
        "other_agency_id": "KKM-REF-2026-0042",
        "registration_date": "2026-11-30",
        "risk_level": "high",
    }


def test_other_kinds_are_refused_naming_the_field(adapter: PrimeroAdapter) -> None:
    with pytest.raises(InvalidInput) as caught:
        adapter.render(REFERRAL, _referral(kind=ReferralKind.ASYLUM))
    assert [p.location for p in caught.value.problems] == ["kind"]
    assert "Achol" not in answer_text(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "location"),
    [
        ("sex", "zebra", "/data/sex"),
        ("risk_level", "extreme", "/data/risk_level"),
        ("protection_concerns", ["trafficked_smuggled", "made_up"], "/data/protection_concerns/1"),
        ("nationality", ["Atlantis"], "/data/nationality/0"),
        ("module_id", "primeromodule-gbv", "/data/module_id"),
        ("date_of_birth", "2013-02-30", "/data/date_of_birth"),
    ],
)
def test_invalid_codes_name_the_field_never_the_value(
    adapter: PrimeroAdapter, field: str, value: Any, location: str
) -> None:
    doc = _case()
    doc["data"][field] = value
    error = _refused(adapter, _body(doc))
    assert location in [p.location for p in error.problems]
    for shown in value if isinstance(value, list) else [value]:
        if shown not in ("trafficked_smuggled", "primeromodule-gbv"):
            assert shown not in answer_text(error)


def test_a_case_without_its_reference_or_date_is_refused(adapter: PrimeroAdapter) -> None:
    doc = _case()
    for field in ("case_id_display", "other_agency_id", "registration_date"):
        del doc["data"][field]
    error = _refused(adapter, _body(doc))
    messages = " ".join(p.message for p in error.problems)
    assert "case_id_display" in messages and "registration_date" in messages


def test_a_non_emergency_case_must_name_or_identify_the_child(adapter: PrimeroAdapter) -> None:
    doc = _case()
    for field in ("name_first", "name_last", "unhcr_individual_no"):
        del doc["data"][field]
    doc["data"]["risk_level"] = "low"
    error = _refused(adapter, _body(doc))
    assert any(p.location.startswith("canonical:") for p in error.problems)


@pytest.mark.parametrize("hostile", json_bodies(PrimeroAdapter().native_fields[REFERRAL]))
def test_hostile_bodies_are_refused_small_and_silent(adapter: PrimeroAdapter, hostile: Any) -> None:
    with pytest.raises(GatewayError) as caught:
        adapter.parse(REFERRAL, hostile.body)
    assert 400 <= caught.value.status < 500, hostile.name
    text = answer_text(caught.value)
    assert MARKER not in text and len(text) < ANSWER_LIMIT


def test_a_million_faults_cost_a_bounded_answer(adapter: PrimeroAdapter) -> None:
    doc = _case()
    doc["data"]["protection_concerns"] = [f"bad_{i}" for i in range(300_000)]
    doc["data"]["nationality"] = ["Atlantis"] * 300_000
    error = _refused(adapter, _body(doc))
    assert len(error.problems) <= MAX_PROBLEMS
    assert len(answer_text(error)) < ANSWER_LIMIT


def test_unknown_message_types_are_refused(adapter: PrimeroAdapter) -> None:
    with pytest.raises(EnvelopeError):
        adapter.parse("birth-notification", b"{}")
    with pytest.raises(EnvelopeError):
        adapter.render("individual-registration", _referral())


def test_the_spec_names_only_known_fields() -> None:
    spec = PrimeroAdapter().mappings.spec(REFERRAL)
    assert {f.canonical for f in spec.fields} <= set(canonical_fields())
    assert {d.native for d in spec.dropped} <= PrimeroAdapter().native_fields[REFERRAL]


def _answer(name: str) -> bytes:
    return FIXTURES.joinpath(f"answers/{name}").read_bytes()


def test_a_created_case_is_delivered_with_its_id(adapter: PrimeroAdapter) -> None:
    receipt = adapter.read_response(REFERRAL, 200, {}, _answer("case-created.json"))
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.reference == "0e7c1b52-6a44-4f0b-9d3e-2f5a8c9b1d20"
    assert adapter.read_response(REFERRAL, 204, {}, b"").outcome is Outcome.DELIVERED


def test_a_refused_case_is_rejected_naming_the_field_only(adapter: PrimeroAdapter) -> None:
    receipt = adapter.read_response(REFERRAL, 422, {}, _answer("case-refused.json"))
    assert receipt.outcome is Outcome.REJECTED
    assert receipt.reason == "primero.422:registration_date"


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_a_busy_or_broken_primero_is_retried(adapter: PrimeroAdapter, status: int) -> None:
    assert adapter.read_response(REFERRAL, status, {}, b"<html>").outcome is Outcome.RETRY


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"data": {"id": "\\u202e evil"}}', b'{"data": []}', b"{" * 70000],
)
def test_an_odd_success_answer_is_still_delivered_without_a_reference(
    adapter: PrimeroAdapter, body: bytes
) -> None:
    receipt = adapter.read_response(REFERRAL, 200, {}, body)
    assert receipt.outcome is Outcome.DELIVERED and receipt.reference is None


def test_a_refusal_never_echoes_primero_messages(adapter: PrimeroAdapter) -> None:
    body = json.dumps(
        {"errors": [{"code": 422, "message": f"name {MARKER} is bad", "detail": MARKER}]}
    ).encode()
    receipt = adapter.read_response(REFERRAL, 422, {}, body)
    assert receipt.outcome is Outcome.REJECTED and MARKER not in (receipt.reason or "")


def test_a_referral_that_does_not_fit_primero_is_refused_not_crashed(
    adapter: PrimeroAdapter,
) -> None:
    long_name = Person(ref="p", names=[PersonName(given=[MARKER * 10])], sex="male")
    with pytest.raises(InvalidInput) as caught:
        adapter.render(REFERRAL, _referral(person=long_name))
    assert caught.value.status == 422
    assert [p.location for p in caught.value.problems] == ["/data/name_first"]
    assert MARKER not in answer_text(caught.value)

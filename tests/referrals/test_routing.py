"""The routing on interview answers: seed 001 sections 5.4-6.2 and Annex 1, rule by rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.canonical.interview import INDICATOR_MARKS, IdentificationInterview, Mark
from gateway.canonical.referral import ReferralKind, Urgency
from gateway.referrals.routing import RULES, route
from tests.referrals.helpers import child_doc, interview, interview_doc, sample_guide


def kinds(routing_result: object) -> list[tuple[str, str, str | None]]:
    return [
        (r.referral.kind.value, r.referral.urgency.value, r.referral.to_authority)
        for r in routing_result.referrals  # type: ignore[attr-defined]
    ]


def test_an_adult_expressing_fear_goes_to_the_asylum_authority_and_unhcr() -> None:
    routing = route(interview(fear_of_return=True), sample_guide())

    assert kinds(routing) == [
        ("asylum", "routine", "uto-rsd"),
        ("unhcr", "routine", "unhcr-uto"),
    ]
    asylum, unhcr = routing.referrals
    assert asylum.referral.reasons == ["fear_of_return"]
    assert asylum.rules == ("asylum.fear",)
    assert unhcr.rules == ("asylum.fear", "unhcr.inform")
    assert asylum.referral.person.names[0].family == "Yusuf"  # the policy minimises, not this
    assert routing.guide_version == 1


@pytest.mark.parametrize(
    "answers",
    [
        {"indicators": ["wants_to_see_un"]},  # 5.4: they want to "see the UN"
        {"indicators": ["fears_detention"]},  # Annex 1, question 14 (*)
        {"intention": "seek_protection"},
    ],
)
def test_fear_needs_no_particular_words(answers: dict[str, object]) -> None:
    routing = route(interview(**answers), sample_guide())

    assert [r.referral.kind for r in routing.referrals] == [ReferralKind.ASYLUM, ReferralKind.UNHCR]


def test_an_unaccompanied_child_goes_to_child_protection_with_priority() -> None:
    doc = child_doc(unaccompanied=True, fear_of_return=True)
    routing = route(IdentificationInterview.model_validate(doc), sample_guide())

    assert kinds(routing) == [
        ("asylum", "priority", "uto-rsd"),
        ("child_protection", "priority", "uto-child-protection"),
        ("unhcr", "priority", "unhcr-uto"),
    ]
    child = routing.referrals[1]
    assert child.referral.reasons == ["unaccompanied_child"]
    assert all(r.referral.person.specific_needs == ["UAM"] for r in routing.referrals)
    assert child.rules == ("child.unaccompanied", "priority.specific_needs")


def test_a_child_by_the_officers_assessment_counts_without_a_birth_date() -> None:
    doc = child_doc(separated=True, child=True)
    doc["person"].pop("birth_date")
    routing = route(IdentificationInterview.model_validate(doc), sample_guide())

    assert kinds(routing) == [("child_protection", "priority", "uto-child-protection")]
    assert routing.referrals[0].referral.reasons == ["separated_child"]


def test_a_birth_date_under_18_makes_a_child_whatever_the_assessment() -> None:
    routing = route(
        IdentificationInterview.model_validate(child_doc(child=False, child_at_risk=True)),
        sample_guide(),
    )

    assert kinds(routing) == [("child_protection", "priority", "uto-child-protection")]


def test_an_unaccompanied_adult_is_not_referred_to_child_protection() -> None:
    assert route(interview(unaccompanied=True), sample_guide()).referrals == ()


def test_trafficking_indicators_go_to_the_anti_trafficking_authority() -> None:
    routing = route(interview(indicators=["deception", "paid_someone"]), sample_guide())

    assert kinds(routing) == [("anti_trafficking", "priority", "uto-anti-trafficking")]
    [referral] = routing.referrals
    assert referral.referral.reasons == ["trafficking_indicators"]
    assert referral.rules == ("trafficking.indicators", "priority.specific_needs")


def test_an_answer_marked_both_ways_routes_both_ways() -> None:
    routing = route(interview(indicators=["fears_sexual_violence"]), sample_guide())

    assert [r.referral.kind.value for r in routing.referrals] == [
        "asylum",
        "anti_trafficking",
        "unhcr",
    ]


def test_an_urgent_medical_need_comes_first_as_an_emergency_with_minimal_data() -> None:
    routing = route(
        interview(urgent_needs=["urgent_medical"], specific_needs=["medical_condition"]),
        sample_guide(),
    )

    assert kinds(routing) == [
        ("emergency", "emergency", "uto-emergency"),
        ("specific_needs", "priority", "uto-social-care"),
    ]
    emergency, needs = (r.referral for r in routing.referrals)
    assert emergency.reasons == ["urgent_medical"]
    assert emergency.person.specific_needs == []  # the service sees the need, not the file
    assert needs.person.specific_needs == ["SM"]
    assert emergency.person.names == [] and emergency.person.documents == []
    assert emergency.person.nationalities == [] and emergency.person.country_of_origin is None
    assert emergency.person.birth_date is not None  # age matters to the medics
    assert routing.rules[0] == "emergency.first"


def test_an_unidentified_person_in_urgent_need_gets_only_the_emergency_referral() -> None:
    doc = interview_doc(urgent_needs=["urgent_medical"], fear_of_return=True)
    doc["person"] = {"ref": "p1", "sex": "male"}
    routing = route(IdentificationInterview.model_validate(doc), sample_guide())

    assert kinds(routing) == [("emergency", "emergency", "uto-emergency")]
    assert "identification.deferred" in routing.rules
    assert "asylum.fear" in routing.rules  # fired: made once identification continues


def test_no_answer_calling_for_a_referral_makes_none() -> None:
    routing = route(interview(intention="work_or_study"), sample_guide())

    assert routing.referrals == () and routing.rules == ()


def test_a_regional_authority_is_preferred_in_its_region() -> None:
    guide = sample_guide()
    regional = guide.authorities[0].model_copy(update={"id": "uto-rsd-north", "region": "north"})
    guide = guide.model_copy(update={"authorities": [*guide.authorities, regional]})

    north = route(interview(fear_of_return=True, region="north"), guide)
    south = route(interview(fear_of_return=True, region="south"), guide)

    assert north.referrals[0].referral.to_authority == "uto-rsd-north"
    assert south.referrals[0].referral.to_authority == "uto-rsd"


def test_a_kind_the_guide_lacks_is_routed_to_no_authority_and_says_so() -> None:
    guide = sample_guide()
    guide = guide.model_copy(
        update={"authorities": [a for a in guide.authorities if a.id != "unhcr-uto"]}
    )

    unhcr = route(interview(fear_of_return=True), guide).referrals[1]

    assert unhcr.authority is None and unhcr.referral.to_authority is None
    assert unhcr.rules[-1] == "guide.no_authority"


def test_routing_is_deterministic_whatever_the_order_of_answers() -> None:
    one = interview(indicators=["paid_someone", "deception", "deception"], fear_of_return=True)
    two = interview(indicators=["deception", "paid_someone"], fear_of_return=True)

    assert route(one, sample_guide()) == route(two, sample_guide())


def test_every_rule_cited_is_documented_and_every_indicator_is_marked() -> None:
    every = interview(
        fear_of_return=True,
        indicators=list(INDICATOR_MARKS),
        specific_needs=["woman_at_risk"],
        urgent_needs=["shelter"],
        intention="seek_protection",
    )
    routing = route(every, sample_guide())

    assert set(routing.rules) <= set(RULES)
    assert all(marks <= set(Mark) and marks for marks in INDICATOR_MARKS.values())
    assert all(r.referral.urgency is not Urgency.ROUTINE for r in routing.referrals)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"unaccompanied": True, "separated": True}, "either unaccompanied or separated"),
        ({"separated": True}, "only a child"),
        ({"indicators": ["not_an_answer"]}, "Input should be"),
        ({"fear_of_return": "perhaps"}, "valid boolean"),
    ],
)
def test_incoherent_answers_are_refused(answers: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        interview(**answers)


def test_an_unnamed_person_without_urgent_needs_is_refused() -> None:
    doc = interview_doc(fear_of_return=True)
    doc["person"] = {"ref": "p1"}

    with pytest.raises(ValidationError, match="name or identify"):
        IdentificationInterview.model_validate(doc)

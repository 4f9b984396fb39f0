"""Interviews end to end: routed, each referral one exchange on the road, delivered for real."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gateway.demo.flow import wait_for
from gateway.store.models import ExchangeRecord, InterviewRouting, ReferralRoute
from tests.referrals.conftest import Border
from tests.referrals.helpers import child_doc, interview_doc


def outcomes(answer: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {r["kind"]: (r["outcome"], r["authority"]) for r in answer["referrals"]}


def records(border: Border) -> dict[str, ExchangeRecord]:
    with border.runtime.db.reading() as session:
        return {r.id: r for r in session.scalars(select(ExchangeRecord))}


def test_an_unaccompanied_child_reaches_child_protection_and_the_rest_is_decided(
    published: Border,
) -> None:
    doc = child_doc(unaccompanied=True, fear_of_return=True, indicators=["deception"])

    response = published.interview(doc)

    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["guide_version"] == 1 and answer["replay"] is False
    assert outcomes(answer) == {
        "asylum": ("denied", "uto-rsd"),  # its rule rests on consent, and none was given
        "child_protection": ("accepted", "uto-child-protection"),
        "anti_trafficking": (
            "accepted",
            "uto-anti-trafficking",
        ),  # child-safe, as is child protection
        "unhcr": ("informed", "unhcr-uto"),
    }
    by_kind = {r["kind"]: r for r in answer["referrals"]}
    assert by_kind["unhcr"]["exchange_id"] is None
    assert by_kind["unhcr"]["contact"]["name"] == "UNHCR Representation in Utopia"
    assert by_kind["child_protection"]["urgency"] == "priority"
    assert by_kind["child_protection"]["rules"] == [
        "child.unaccompanied",
        "priority.specific_needs",
    ]
    assert "Dawit" not in response.text  # nothing personal is echoed

    primero = published.standins["uto-child-protection"]
    assert wait_for(lambda: len(primero.received) == 1)
    case = primero.received[0].json()["data"]
    assert case["name_first"] == "Dawit" and case["module_id"] == "primeromodule-cp"
    trafficking = published.standins["uto-anti-trafficking"]
    assert wait_for(lambda: len(trafficking.received) == 1)
    sent_there = trafficking.received[0].json()  # in the border system's shape (adapters/border)
    assert (sent_there["referralType"], sent_there["urgency"]) == ("ANTI_TRAFFICKING", "PRIORITY")
    assert sent_there["person"]["givenNames"] == ["Dawit"]
    assert published.standins["uto-asylum"].received == []

    found = records(published)
    sent = {r["kind"]: r["exchange_id"] for r in answer["referrals"] if r["exchange_id"]}
    assert {found[e].decision for e in sent.values()} == {"allowed", "denied"}
    assert all(found[e].message_type == "referral" for e in sent.values())
    assert found[sent["child_protection"]].destination == "uto-child-protection"


def test_an_urgent_medical_need_goes_first_with_minimal_data(published: Border) -> None:
    doc = interview_doc(urgent_needs=["urgent_medical"], specific_needs=["medical_condition"])

    answer = published.interview(doc).json()

    assert [r["kind"] for r in answer["referrals"]] == ["emergency", "specific_needs"]
    emergency = answer["referrals"][0]
    assert (emergency["outcome"], emergency["urgency"]) == ("accepted", "emergency")
    standin = published.standins["uto-emergency"]
    assert wait_for(lambda: len(standin.received) == 1)
    sent = standin.received[0].json()  # in the border system's shape (adapters/border)
    assert (sent["referralType"], sent["urgency"]) == ("EMERGENCY_CARE", "IMMEDIATE")
    assert sent["person"] == {
        "personRef": "p1",
        "sex": "F",
        "dateOfBirth": "1990-05-01",
        "dateOfBirthEstimated": False,
    }
    assert "Yusuf" not in standin.received[0].body.decode()
    # The emergency's exchange was recorded before the other referral's.
    found = records(published)
    ids = [r["exchange_id"] for r in answer["referrals"]]
    assert found[ids[0]].seq < found[ids[1]].seq


def test_a_retried_interview_replays_each_referral(published: Border) -> None:
    doc = child_doc(unaccompanied=True)
    first = published.interview(doc, key="retried-0001").json()

    again = published.interview(doc, key="retried-0001")

    assert again.status_code == 200
    assert again.json()["replay"] is True
    assert again.json()["referrals"] == first["referrals"]
    assert len(records(published)) == 1
    primero = published.standins["uto-child-protection"]
    assert wait_for(lambda: len(primero.received) == 1)


def test_each_referral_records_the_guide_version_that_routed_it(published: Border) -> None:
    published.interview(child_doc(unaccompanied=True), key="recorded-0001")

    with published.runtime.db.reading() as session:
        [routing] = session.scalars(select(InterviewRouting)).all()
        [route] = session.scalars(select(ReferralRoute)).all()
    assert (routing.source, routing.guide_version) == ("uto-border", 1)
    assert (route.kind, route.authority, route.outcome) == (
        "child_protection",
        "uto-child-protection",
        "accepted",
    )

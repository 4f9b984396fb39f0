"""Bad and hostile interviews: a clear, bounded 4xx naming the field, and nothing sent."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from gateway.store.models import ExchangeRecord, InterviewRouting
from tests.referrals.conftest import Border
from tests.referrals.helpers import child_doc, interview_doc


def post(border: Border, body: bytes, **headers: str) -> httpx.Response:
    sent = {"Authorization": f"Bearer {border.credential}", "Idempotency-Key": "bad-key-0001"}
    sent.update(headers)
    return httpx.post(f"{border.url}/referrals/interview", content=body, headers=sent, timeout=30)


def nothing_kept(border: Border) -> bool:
    with border.runtime.db.reading() as session:
        routings = session.scalar(select(func.count()).select_from(InterviewRouting))
        exchanges = session.scalar(select(func.count()).select_from(ExchangeRecord))
    standins = [s.received for s in border.standins.values()]
    return routings == 0 and exchanges == 0 and not any(standins)


def test_malformed_and_hostile_interviews_are_refused(published: Border) -> None:
    cases = {
        b"{": "/",
        b"[]": "/",
        b'{"reference": "a", "reference": "b"}': "/",
        b"[" * 10_000 + b"]" * 10_000: "/",
        b"\xff\xfe\x00": "/",
        json.dumps(interview_doc(indicators=["persecuted-ish"])).encode(): "interview.indicators.0",
        json.dumps(interview_doc(fear_of_return="yes please")).encode(): "interview.fear_of_return",
        json.dumps(interview_doc(notes="a story")).encode(): "interview.notes",
        json.dumps(child_doc(unaccompanied=True, separated=True)).encode(): "interview",
        json.dumps(
            interview_doc(person={"ref": "p1", "names": [{"given": ["\u202eX"]}]})
        ).encode(): ("/person/names/0/given/0"),
    }
    for body, location in cases.items():
        answer = post(published, body)
        assert answer.status_code == 422, (location, answer.text)
        assert location in [p["location"] for p in answer.json()["problems"]], answer.text
        assert "Yusuf" not in answer.text and "a story" not in answer.text
        assert len(answer.content) < 4000
    many = interview_doc(indicators=["nope"] * 100_000)
    answer = post(published, json.dumps(many).encode())
    assert answer.status_code in (413, 422) and len(answer.content) < 20_000
    assert nothing_kept(published)


def test_the_caller_and_the_key_are_checked_first(published: Border) -> None:
    body = json.dumps(interview_doc(fear_of_return=True)).encode()

    assert post(published, body, Authorization="Bearer nobody").status_code == 401
    admin = published.admin["Authorization"]
    assert post(published, body, Authorization=admin).status_code == 401  # not a system
    missing = httpx.post(
        f"{published.url}/referrals/interview",
        content=body,
        headers={"Authorization": f"Bearer {published.credential}"},
    )
    assert missing.status_code == 422
    assert missing.json()["problems"][0]["location"] == "Idempotency-Key"
    assert post(published, body, **{"Idempotency-Key": "short"}).status_code == 422
    assert (
        post(published, b"x" * (published.runtime.settings.max_body_bytes + 1)).status_code == 413
    )
    assert nothing_kept(published)


def test_a_key_reused_with_another_interview_is_a_conflict(published: Border) -> None:
    assert (
        published.interview(child_doc(unaccompanied=True), key="same-key-0001").status_code == 202
    )

    again = published.interview(child_doc(separated=True, child=True), key="same-key-0001")

    assert again.status_code == 409
    assert again.json()["reason"] == "idempotency_conflict"


def test_no_guide_in_force_is_a_conflict(border: Border) -> None:
    answer = border.interview(interview_doc(fear_of_return=True))

    assert answer.status_code == 409
    assert answer.json()["problems"] == [{"location": "guide", "message": "none in force"}]
    assert nothing_kept(border)

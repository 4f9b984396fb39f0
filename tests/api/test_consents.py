"""Consents over HTTP: granted by the person or a child's guardian, refused when malformed,
read back without the child's views, withdrawn once."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from gateway.consents import CHILD_VIEWS_KEY, CHILD_VIEWS_MAX
from gateway.crypto import Keyring
from gateway.demo.flow import DemoEnvironment
from gateway.store.models import ConsentRow, ExchangeRecord
from tests.api.helpers import BODY_LIMIT, GRANT, admin_headers

VIEWS = "Amani (12) agrees; she asked that her school not be told. Case note KKM-CN-0042."
GUARDIAN = {
    **GRANT,
    "granted_by": "guardian",
    "guardian_relationship": "legal-guardian",
    "child_views": VIEWS,
}


def post(env: DemoEnvironment, path: str, body: Any = None) -> httpx.Response:
    url = f"{env.gateway_url}{path}"
    return httpx.post(url, json=body, headers=admin_headers(env.runtime), timeout=30)


def get(env: DemoEnvironment, path: str) -> httpx.Response:
    return httpx.get(f"{env.gateway_url}{path}", headers=admin_headers(env.runtime), timeout=30)


def consent_rows(env: DemoEnvironment) -> list[ConsentRow]:
    with env.runtime.db.reading() as session:
        return list(session.scalars(select(ConsentRow).order_by(ConsentRow.granted_at)))


def test_a_persons_own_grant_is_read_back_as_given(env: DemoEnvironment) -> None:
    granted = post(env, "/consents", GRANT)

    assert granted.status_code == 201, granted.text
    body = granted.json()
    assert body["granted_by"] == "subject"
    assert body["guardian_relationship"] is None
    assert body["child_views_recorded"] is False
    assert (body["exchanges"], body["cancelled"], body["notices"]) == (0, [], [])
    assert get(env, f"/consents/{body['id']}").json() == body


def test_a_guardians_grant_keeps_the_childs_views_sealed_and_never_shows_them(
    env: DemoEnvironment,
) -> None:
    granted = post(env, "/consents", GUARDIAN)

    assert granted.status_code == 201, granted.text
    body = granted.json()
    assert body["granted_by"] == "guardian"
    assert body["guardian_relationship"] == "legal-guardian"
    assert body["child_views_recorded"] is True
    shown = get(env, f"/consents/{body['id']}")
    for answer in (granted, shown):
        assert "KKM-CN-0042" not in answer.text and "school" not in answer.text
    [row] = [r for r in consent_rows(env) if r.id == body["id"]]
    assert row.child_views_sealed is not None and b"school" not in row.child_views_sealed
    with env.runtime.db.reading() as session:
        records = json.dumps([str(r.__dict__) for r in session.scalars(select(ExchangeRecord))])
    assert "school" not in records
    # Opened only with the key derived for them, and only under this consent's id.
    keyring = Keyring.derive([env.runtime.settings.master_secret()], CHILD_VIEWS_KEY)
    assert row.child_views_key_id is not None
    opened = keyring.open(row.child_views_key_id, row.child_views_sealed, row.id.encode())
    assert opened.decode() == VIEWS


MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"child_views": None}, "body.child_views"),
    ({"child_views": "   "}, "body.child_views"),
    ({"child_views": "x" * (CHILD_VIEWS_MAX + 1)}, "body.child_views"),
    ({"child_views": "agrees\x1b[2J"}, "body.child_views"),
    ({"guardian_relationship": None}, "body.guardian_relationship"),
    ({"guardian_relationship": "neighbour"}, "body.guardian_relationship"),
    ({"granted_by": "the-state"}, "body.granted_by"),
    ({"expires_at": "2020-01-01T00:00:00Z"}, "body.expires_at"),
    ({"expires_at": "2030-01-01T00:00:00"}, "body.expires_at"),  # no time zone
    ({"expires_at": 1900000000}, "body.expires_at"),  # a number is not a time here
    ({"expires_at": "9999-12-31T23:00:00-05:00"}, "body.expires_at"),
    ({"recipient": "x" * 65}, "body.recipient"),
    ({"purpose": "Birth Registration"}, "body.purpose"),
    ({"categories": []}, "body.categories"),
    ({"categories": ["birth", "hobbies"]}, "body.categories"),
    ({"subject": {"scheme": "progres-individual", "value": "x" * 5000}}, "body.subject"),
    ({"notes": "free text"}, "body.notes"),
]
"""A guardian's grant spoiled one way, and where the refusal must say the problem is."""


def test_a_malformed_grant_is_refused_naming_the_field_and_keeps_nothing(
    env: DemoEnvironment,
) -> None:
    before = [r.id for r in consent_rows(env)]

    for change, where in MALFORMED:
        response = post(env, "/consents", {**GUARDIAN, **change})

        assert response.status_code == 422, (change, response.text)
        answer = response.json()
        assert answer["reason"] == "invalid_input"
        assert any(p["location"].startswith(where) for p in answer["problems"]), (change, answer)
        assert "school" not in response.text  # the child's views are never echoed
    assert [r.id for r in consent_rows(env)] == before


def test_a_persons_grant_carrying_a_guardians_fields_lists_both(env: DemoEnvironment) -> None:
    response = post(env, "/consents", {**GUARDIAN, "granted_by": "subject"})

    assert response.status_code == 422
    locations = {p["location"] for p in response.json()["problems"]}
    assert locations == {"body.guardian_relationship", "body.child_views"}


def test_a_future_expiry_is_kept_and_an_unknown_recipient_is_not_found(
    env: DemoEnvironment,
) -> None:
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
    before = consent_rows(env)

    kept = post(env, "/consents", {**GRANT, "expires_at": later})
    unknown = post(env, "/consents", {**GUARDIAN, "recipient": "embassy-atlantis"})
    too_large = post(env, "/consents", {**GUARDIAN, "child_views": "x" * BODY_LIMIT})

    assert kept.status_code == 201, kept.text
    assert dt.datetime.fromisoformat(kept.json()["expires_at"]) == dt.datetime.fromisoformat(later)
    assert unknown.status_code == 404 and unknown.json()["reason"] == "not_found"
    assert too_large.status_code == 413
    assert len(consent_rows(env)) == len(before) + 1


def test_an_id_no_consent_has_is_not_found(env: DemoEnvironment) -> None:
    for consent_id in [
        "not-a-uuid",
        "%00",
        str(uuid.uuid4()),
        str(uuid.uuid4()).upper(),
        "A" * 300,
    ]:
        for answer in (
            get(env, f"/consents/{consent_id}"),
            post(env, f"/consents/{consent_id}/withdraw"),
        ):
            assert answer.status_code == 404, (consent_id, answer.text)
            assert answer.json()["reason"] == "not_found"


def test_a_consent_is_withdrawn_once_and_the_second_time_is_a_conflict(
    env: DemoEnvironment,
) -> None:
    consent_id = post(env, "/consents", GUARDIAN).json()["id"]

    first = post(env, f"/consents/{consent_id}/withdraw")
    second = post(env, f"/consents/{consent_id}/withdraw")

    assert first.status_code == 200, first.text
    assert first.json()["withdrawn_at"] is not None
    assert first.json()["notices"] == []  # nothing was ever sent under it
    assert second.status_code == 409 and second.json()["reason"] == "conflict"
    assert get(env, f"/consents/{consent_id}").json() == first.json()


def test_a_system_may_not_grant_read_or_withdraw(env: DemoEnvironment) -> None:
    consent_id = post(env, "/consents", GRANT).json()["id"]
    system = {"Authorization": f"Bearer {next(iter(env.credentials.values()))}"}
    url = env.gateway_url

    answers = [
        httpx.post(f"{url}/consents", json=GRANT, headers=system),
        httpx.get(f"{url}/consents/{consent_id}", headers=system),
        httpx.post(f"{url}/consents/{consent_id}/withdraw", headers=system),
    ]

    assert [a.status_code for a in answers] == [403, 403, 403]
    assert get(env, f"/consents/{consent_id}").json()["withdrawn_at"] is None

"""The X-Road REST headers on the HTTP API: POST /exchanges takes them, every answer echoes them."""

from __future__ import annotations

import uuid

import httpx

from gateway.envelope import to_headers
from tests.fixtures.exchanges import queued, recorded
from tests.xroad.support import (
    AGREEMENT_ID,
    BASIS,
    DESTINATION,
    PURPOSE,
    SOURCE,
    XRoadGateway,
    fixture,
    post,
)
from tests.xroad.support import envelope as soap_envelope

CLIENT = f"KE/GOV/7001/{SOURCE}"


def submit(
    gw: XRoadGateway, x_road: dict[str, str], credential: str | None = None
) -> httpx.Response:
    envelope = to_headers(
        {
            "destination": DESTINATION,
            "message_type": "document-validity-check",
            "purpose": PURPOSE,
            "legal_basis": BASIS,
            "agreement": AGREEMENT_ID,
            "idempotency_key": f"key-{uuid.uuid4()}",
        }
    )
    return httpx.post(
        f"{gw.url}/exchanges",
        content=fixture("document-validity-check").encode(),
        headers={
            **envelope,
            **x_road,
            "Content-Type": "application/xml",
            "Authorization": f"Bearer {credential or gw.credential}",
        },
    )


def test_the_x_road_headers_given_are_echoed(gateway: XRoadGateway) -> None:
    given = {
        "X-Road-Client": CLIENT,
        "X-Road-Id": "rest-msg-0001",
        "X-Road-UserId": "KE:officer-17",
        "X-Road-Issue": "case 2026/44",
    }

    answer = submit(gateway, given)

    assert answer.status_code == 202, answer.text
    assert {name: answer.headers[name] for name in given} == given


def test_an_id_is_generated_when_none_is_given_on_every_route(gateway: XRoadGateway) -> None:
    answers = [
        submit(gateway, {}),
        post(gateway, soap_envelope(fixture("document-request"))),
        httpx.get(f"{gateway.url}/xroad/wsdl"),
    ]

    ids = [answer.headers["X-Road-Id"] for answer in answers]
    assert all(uuid.UUID(i) for i in ids) and len(set(ids)) == len(ids)


def test_a_system_naming_another_client_is_refused_before_its_body_is_read(
    gateway: XRoadGateway,
) -> None:
    answer = submit(gateway, {"X-Road-Client": CLIENT}, credential=gateway.other_credential)

    assert answer.status_code == 403
    assert answer.json()["problems"] == [
        {
            "location": "X-Road-Client",
            "message": "its SUBSYSTEM part must be the calling system's id",
        }
    ]
    assert recorded(gateway.runtime) == {}  # refused before the pipeline: no attempt to record
    assert queued(gateway.runtime) == {}  # committed before the answer, as a queued one would be
    assert gateway.authority.hits == 0


def test_a_bad_x_road_header_is_named_and_not_echoed(gateway: XRoadGateway) -> None:
    answer = submit(gateway, {"X-Road-Issue": "SECRET\tvalue", "X-Road-Client": "KE/GOV"})

    assert answer.status_code == 422
    assert [p["location"] for p in answer.json()["problems"]] == ["X-Road-Issue", "X-Road-Client"]
    assert "SECRET" not in answer.text
    assert "X-Road-Issue" not in answer.headers

"""The administrator's API, who may call what, and the routes anyone may read.

Systems and consents are the administrator's; a system may read only its own exchanges, and
an exchange it is not party to looks exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.demo.flow import CIVIL_REGISTRY, EMBASSY, REGISTRATION, DemoEnvironment
from gateway.demo.server import ServedGateway
from gateway.store.models import ConsentRow, System
from tests.api.helpers import GRANT, NEW_SYSTEM, SUBJECT_ID, admin_headers, system_headers


def table(env: DemoEnvironment, model: Any) -> list[str]:
    """Return every row of a table as text, in a stable order."""
    with env.runtime.db.unit_of_work() as session:
        return sorted(repr(dict(r)) for r in session.execute(select(model.__table__)).mappings())


def register(served: ServedGateway, **changes: Any) -> httpx.Response:
    return httpx.post(
        f"{served.url}/systems",
        json={**NEW_SYSTEM, **changes},
        headers=admin_headers(served.runtime),
    )


def assert_error(response: httpx.Response, status: int, reason: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["reason"] == reason
    return body


def test_a_new_system_gets_its_credential_once(served: ServedGateway) -> None:
    created = register(served, jurisdiction="Kenya")

    assert created.status_code == 201, created.text
    assert created.json()["jurisdiction"] == "KEN"
    assert created.json()["credential"].startswith("gw_")
    shown = httpx.get(f"{served.url}/systems/registry-two", headers=admin_headers(served.runtime))
    assert shown.status_code == 200
    assert "credential" not in shown.json()


@pytest.mark.parametrize(
    ("adapter", "hint"),
    [
        ("progress", "Did you mean 'progres'?"),
        ("open-crvs", "Did you mean 'opencrvs'?"),
        ("OpenCRVS", "Did you mean 'opencrvs'?"),
        ("dhis2", "Known: border, dci, immigration, legacy-registration,"),
    ],
)
def test_an_unknown_adapter_is_refused_with_a_hint(
    served: ServedGateway, adapter: str, hint: str
) -> None:
    body = assert_error(register(served, adapter=adapter), 422, "invalid_input")

    assert hint in body["message"]
    assert [p["location"] for p in body["problems"]] == ["body.adapter"]
    assert hint in body["problems"][0]["message"]
    absent = httpx.get(f"{served.url}/systems/registry-two", headers=admin_headers(served.runtime))
    assert absent.status_code == 404


@pytest.mark.parametrize("jurisdiction", ["Atlantis", "ZZ", "999", "South Sudan Embassy", ""])
def test_an_unknown_jurisdiction_is_refused(served: ServedGateway, jurisdiction: str) -> None:
    body = assert_error(register(served, jurisdiction=jurisdiction), 422, "invalid_input")

    assert [p["location"] for p in body["problems"]] == ["body.jurisdiction"]
    assert "country" in body["problems"][0]["message"]


def test_every_problem_of_a_system_is_listed(served: ServedGateway) -> None:
    body = assert_error(
        register(served, id="Not An Id", name="", jurisdiction="Atlantis", colour="blue"),
        422,
        "invalid_input",
    )

    assert sorted(p["location"] for p in body["problems"]) == [
        "body.colour",
        "body.id",
        "body.jurisdiction",
        "body.name",
    ]


def test_a_body_that_is_not_json_is_refused(served: ServedGateway) -> None:
    response = httpx.post(
        f"{served.url}/systems",
        content=b'{"id": "registry-two",',
        headers={**admin_headers(served.runtime), "Content-Type": "application/json"},
    )

    body = assert_error(response, 422, "invalid_input")
    assert body["problems"]


def test_a_duplicate_system_is_refused_and_the_first_kept(
    served: ServedGateway, env: DemoEnvironment
) -> None:
    before = table(env, System)

    response = register(served, id=CIVIL_REGISTRY, name="An impostor")

    body = assert_error(response, 409, "conflict")
    assert CIVIL_REGISTRY in body["message"]
    assert table(env, System) == before


ADMIN_ROUTES = [
    ("POST", "/systems", NEW_SYSTEM),
    ("POST", "/systems", {"id": "Not An Id"}),  # refused before its body is even read
    ("GET", "/systems", None),
    ("GET", f"/systems/{REGISTRATION}", None),
    ("POST", f"/systems/{REGISTRATION}/credential", None),
    ("POST", "/consents", GRANT),
    ("GET", f"/consents/{uuid.uuid4()}", None),
    ("POST", f"/consents/{uuid.uuid4()}/withdraw", None),
]


def answers(url: str, headers: dict[str, str]) -> list[tuple[str, str, int, str | None, str]]:
    """Call every admin route; return method, path, status, WWW-Authenticate and reason."""
    found = []
    for method, path, payload in ADMIN_ROUTES:
        response = httpx.request(method, url + path, json=payload, headers=headers)
        reason = response.json().get("reason", "") if response.status_code >= 400 else ""
        found.append(
            (method, path, response.status_code, response.headers.get("www-authenticate"), reason)
        )
    return found


def test_a_system_credential_is_not_an_admin_token(env: DemoEnvironment) -> None:
    before = (table(env, System), table(env, ConsentRow))

    found = answers(env.gateway_url, system_headers(env, REGISTRATION))

    assert found == [(m, p, 403, None, "forbidden") for m, p, _ in ADMIN_ROUTES]
    assert (table(env, System), table(env, ConsentRow)) == before


@pytest.mark.parametrize("authorization", [None, "Bearer not-the-admin-token", "Token abc"])
def test_admin_routes_need_a_token(served: ServedGateway, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    found = answers(served.url, headers)

    assert found == [(m, p, 401, "Bearer", "unauthenticated") for m, p, _ in ADMIN_ROUTES]


def test_only_the_parties_see_an_exchange(env: DemoEnvironment) -> None:
    exchange_id = env.submit_birth(CIVIL_REGISTRY).json()["exchange_id"]
    url = f"{env.gateway_url}/exchanges/{exchange_id}"

    seen = {
        system_id: httpx.get(url, headers=system_headers(env, system_id))
        for system_id in (REGISTRATION, CIVIL_REGISTRY, EMBASSY)
    }

    assert seen[REGISTRATION].status_code == seen[CIVIL_REGISTRY].status_code == 200
    assert seen[REGISTRATION].json()["exchange_id"] == exchange_id
    assert seen[REGISTRATION].json()["decision"] == "allowed"
    outsider = assert_error(seen[EMBASSY], 404, "not_found")
    absent_id = str(uuid.uuid4())
    absent = httpx.get(
        f"{env.gateway_url}/exchanges/{absent_id}", headers=system_headers(env, EMBASSY)
    )
    # Same answer as for an exchange that does not exist, but for the id it repeats.
    assert absent.json() == {
        **outsider,
        "message": outsider["message"].replace(exchange_id, absent_id),
    }
    assert httpx.get(url, headers=admin_headers(env.runtime)).status_code == 200
    assert_error(httpx.get(url), 401, "unauthenticated")


def test_consent_for_an_unknown_recipient_is_refused(env: DemoEnvironment) -> None:
    before = table(env, ConsentRow)

    response = httpx.post(
        f"{env.gateway_url}/consents",
        json={**GRANT, "recipient": "embassy-atlantis"},
        headers=admin_headers(env.runtime),
    )

    body = assert_error(response, 404, "not_found")
    assert "embassy-atlantis" in body["message"]
    assert table(env, ConsentRow) == before


def test_a_consent_is_withdrawn_once(env: DemoEnvironment) -> None:
    admin = admin_headers(env.runtime)
    granted = httpx.post(f"{env.gateway_url}/consents", json=GRANT, headers=admin)
    assert granted.status_code == 201, granted.text
    withdraw = f"{env.gateway_url}/consents/{granted.json()['id']}/withdraw"

    first = httpx.post(withdraw, headers=admin)
    second = httpx.post(withdraw, headers=admin)

    assert first.status_code == 200
    assert first.json()["withdrawn_at"] is not None
    assert_error(second, 409, "conflict")
    shown = httpx.get(f"{env.gateway_url}/consents/{granted.json()['id']}", headers=admin)
    assert shown.json()["withdrawn_at"] == first.json()["withdrawn_at"]
    unknown = httpx.post(f"{env.gateway_url}/consents/{uuid.uuid4()}/withdraw", headers=admin)
    assert_error(unknown, 404, "not_found")


def test_consents_keep_only_a_pseudonym(env: DemoEnvironment) -> None:
    granted = httpx.post(
        f"{env.gateway_url}/consents", json=GRANT, headers=admin_headers(env.runtime)
    )

    assert granted.status_code == 201, granted.text
    assert SUBJECT_ID not in granted.text
    rows = table(env, ConsentRow)
    assert len(rows) == 7  # the demo's six grants and this one
    assert granted.json()["subject"] in "\n".join(rows)
    assert SUBJECT_ID not in "\n".join(rows)
    assert "KKM-25-001234" not in "\n".join(rows)  # nor the demo family's identifiers


def test_health_counts_the_outbox(env: DemoEnvironment) -> None:
    empty = httpx.get(f"{env.gateway_url}/health")
    assert env.submit_birth(CIVIL_REGISTRY).status_code == 202

    queued = httpx.get(f"{env.gateway_url}/health")

    assert empty.status_code == queued.status_code == 200
    assert empty.json() == {"status": "ok", "outbox": {"pending": 0, "delivered": 0, "dead": 0}}
    assert queued.json()["outbox"] == {"pending": 1, "delivered": 0, "dead": 0}


def test_the_api_describes_itself(served: ServedGateway) -> None:
    docs = httpx.get(f"{served.url}/docs")
    schema = httpx.get(f"{served.url}/openapi.json")

    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert schema.status_code == 200
    assert {"/exchanges", "/exchanges/{exchange_id}", "/systems", "/consents", "/health"} <= set(
        schema.json()["paths"]
    )


@pytest.mark.parametrize("path", ["/nowhere", "/systems/registry-two/nothing", "/exchanges/a/b"])
def test_an_unknown_route_is_a_json_404(served: ServedGateway, path: str) -> None:
    body = assert_error(httpx.get(served.url + path), 404, "not_found")

    assert body["problems"] == []


@pytest.mark.parametrize(("method", "path"), [("POST", "/exchanges/"), ("GET", "/systems/")])
def test_a_trailing_slash_is_answered_with_the_path_meant(
    served: ServedGateway, method: str, path: str
) -> None:
    answer = httpx.request(method, f"{served.url}{path}", headers=admin_headers(served.runtime))
    assert answer.status_code == 404
    assert answer.json()["message"] == (
        f"no such resource: {path} (did you mean {path.rstrip('/')}, without the slash?)"
    )
    assert "location" not in answer.headers

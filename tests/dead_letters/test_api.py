"""Dead letters over HTTP, as the administrator works them: answers, refusals, hostile input,
a replay delivered end to end by the served gateway's own relay, and the document's word.

The served gateway's relay is off (conftest.py) but where a test turns it on: dead letters
are made by its relay, drained by hand, against a real destination on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from gateway.config import Settings
from gateway.dead_letters.retention import purge_dead_bodies
from gateway.delivery.repository import DEAD, DELIVERED
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime, utc_now
from gateway.store.models import DeliveryAttempt
from tests.api.test_openapi import FHIR, Conformance
from tests.dead_letters.support import Letters, actions, statuses
from tests.delivery.servers import Destination
from tests.delivery.support import BODY, outbox_row, wait_until

BODY_LIMIT = 16 * 1024
UNKNOWN = "0b5a6a9e-55a0-4c1e-9b8a-3d2f0e1c7a11"
NAME = "Zyqvarentholde"  # a given name no log line holds by chance
ROUTES = [
    ("GET", "/dead-letters"),
    ("POST", "/dead-letters/replay"),
    ("GET", "/dead-letters/{exchange_id}"),
    ("POST", "/dead-letters/{exchange_id}/replay"),
    ("POST", "/dead-letters/{exchange_id}/discard"),
]
BODIES = {
    "/dead-letters/replay": {"destination": "dst"},
    "/dead-letters/{exchange_id}/discard": {"reason": "checked"},
}


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return settings.model_copy(
        update={"max_body_bytes": BODY_LIMIT, **getattr(request, "param", {})}
    )


@pytest.fixture
def gateway(served: ServedGateway) -> Iterator[Gateway]:
    yield Gateway(served)


class Gateway:
    """The served gateway, as the administrator, the DPO or a stranger calls it."""

    def __init__(self, served: ServedGateway) -> None:
        self.url = served.url
        self.runtime: Runtime = served.runtime
        settings = served.runtime.settings
        self.admin = {"Authorization": f"Bearer {settings.resolved_admin_token()}"}
        self.dpo = {"Authorization": f"Bearer {settings.resolved_dpo_token()}"}

    def call(self, method: str, path: str, headers: Any = None, **request: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}{path}", headers=headers or {}, timeout=30, **request
        )

    def as_admin(self, method: str, path: str, **request: Any) -> httpx.Response:
        return self.call(method, path, self.admin, **request)


@pytest.fixture
def letters(gateway: Gateway, destination: Destination) -> Letters:
    return Letters(gateway.runtime, destination, utc_now)


def test_the_administrator_lists_inspects_replays_and_discards(
    gateway: Gateway, letters: Letters, destination: Destination
) -> None:
    first, second = letters.dead(), letters.dead()

    listed = gateway.as_admin("GET", "/dead-letters", params={"destination": "dst"})
    shown = gateway.as_admin("GET", f"/dead-letters/{first}")
    replayed = gateway.as_admin("POST", f"/dead-letters/{first}/replay")
    discarded = gateway.as_admin(
        "POST", f"/dead-letters/{second}/discard", json={"reason": "  sent anew by its source "}
    )

    assert listed.status_code == 200
    assert [d["exchange_id"] for d in listed.json()["dead_letters"]] == [first, second]
    assert shown.status_code == 200
    assert shown.json()["status"] == DEAD and shown.json()["body_bytes"] == len(BODY)
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"
    assert actions(gateway.runtime, second) == [("discard", "admin", "sent anew by its source")]
    for answer in (listed, shown, replayed, discarded):
        assert BODY not in answer.content  # never the body
    destination.status = 202
    gateway.runtime.relay.drain()
    assert statuses(gateway.runtime) == {first: DELIVERED, second: "discarded"}


def test_replay_all_replays_a_destinations_dead_letters(gateway: Gateway, letters: Letters) -> None:
    ids = [letters.dead() for _ in range(3)]

    done = gateway.as_admin("POST", "/dead-letters/replay", json={"destination": "dst"})
    unknown = gateway.as_admin("POST", "/dead-letters/replay", json={"destination": "nowhere"})

    assert done.status_code == 200
    assert done.json() == {"destination": "dst", "replayed": 3, "left_without_body": 0}
    assert unknown.status_code == 404 and unknown.json()["reason"] == "not_found"
    assert set(statuses(gateway.runtime).values()) == {"pending"}
    assert all(actions(gateway.runtime, e) == [("replay", "admin", None)] for e in ids)


def test_refusals_say_why(gateway: Gateway, letters: Letters) -> None:
    dead = letters.dead()
    gateway.as_admin("POST", f"/dead-letters/{dead}/replay")

    again = gateway.as_admin("POST", f"/dead-letters/{dead}/replay")
    discard = gateway.as_admin("POST", f"/dead-letters/{dead}/discard", json={"reason": "x"})
    unknown = gateway.as_admin("POST", f"/dead-letters/{UNKNOWN}/replay")
    anyone = gateway.call("GET", "/dead-letters")
    wrong = gateway.call("GET", "/dead-letters", {"Authorization": "Bearer not-a-token"})
    dpo = gateway.call("POST", f"/dead-letters/{dead}/replay", gateway.dpo)

    assert (again.status_code, again.json()["reason"]) == (409, "not_dead")
    assert f"exchange {dead} is pending, not dead" in again.json()["message"]
    assert (discard.status_code, discard.json()["reason"]) == (409, "not_dead")
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "not_found")
    assert anyone.status_code == wrong.status_code == 401
    assert anyone.headers["WWW-Authenticate"] == "Bearer"
    assert (dpo.status_code, dpo.json()["reason"]) == (403, "forbidden")
    assert actions(gateway.runtime, dead) == [("replay", "admin", None)]


def test_a_purged_dead_letter_is_refused_with_its_own_reason(
    gateway: Gateway, letters: Letters
) -> None:
    dead = letters.dead()
    purge_dead_bodies(gateway.runtime.db, utc_now() + dt.timedelta(days=31), dt.timedelta(30))

    refused = gateway.as_admin("POST", f"/dead-letters/{dead}/replay")

    assert (refused.status_code, refused.json()["reason"]) == (409, "body_purged")
    assert gateway.as_admin("GET", f"/dead-letters/{dead}").json()["body_held"] is False


@pytest.mark.parametrize(
    ("method", "path", "sent"),
    [
        ("GET", "/dead-letters", {"params": {"destination": "../systems"}}),
        ("GET", "/dead-letters", {"params": {"destination": "x" * 65}}),
        ("GET", "/dead-letters", {"params": {"destination": "dst\x00"}}),
        ("GET", "/dead-letters", {"params": {"limit": 100_000}}),
        ("GET", "/dead-letters", {"params": {"cursor": "-1"}}),
        ("GET", "/dead-letters", {"params": {"status": "delivered"}}),  # unknown
        ("POST", "/dead-letters/replay", {"json": {"destination": "Not An Id"}}),
        ("POST", "/dead-letters/replay", {"json": {"destination": "dst", "all": True}}),
        ("POST", "/dead-letters/replay", {"json": ["dst"]}),
        (
            "POST",
            "/dead-letters/replay",
            {"content": b"{", "headers": {"content-type": "application/json"}},
        ),
        ("POST", "/dead-letters/{id}/discard", {"json": {}}),
        ("POST", "/dead-letters/{id}/discard", {"json": {"reason": "   "}}),
        ("POST", "/dead-letters/{id}/discard", {"json": {"reason": "a\x07b"}}),
        ("POST", "/dead-letters/{id}/discard", {"json": {"reason": "x", "body": "y"}}),
        ("POST", "/dead-letters/{id}/discard", {"json": {"reason": NAME * 1000}}),
    ],
)
def test_bad_input_gets_a_bounded_422_and_changes_nothing(
    gateway: Gateway, letters: Letters, method: str, path: str, sent: dict[str, Any]
) -> None:
    dead = letters.dead()
    headers = {**gateway.admin, **sent.pop("headers", {})}

    answer = gateway.call(method, path.replace("{id}", dead), headers, **sent)

    assert answer.status_code == 422, answer.text
    assert answer.json()["reason"] == "invalid_input"
    assert len(answer.content) < 2000 and NAME not in answer.text
    assert statuses(gateway.runtime) == {dead: DEAD}
    assert actions(gateway.runtime, dead) == []


@pytest.mark.parametrize("exchange_id", ["not-an-id", UNKNOWN.upper(), "%00", "x" * 2000])
def test_a_malformed_id_is_not_found_and_not_repeated(gateway: Gateway, exchange_id: str) -> None:
    for method, action in (("GET", ""), ("POST", "/replay")):
        answer = gateway.as_admin(method, f"/dead-letters/{exchange_id}{action}")
        assert answer.status_code == 404, answer.text
        assert "x" * 100 not in answer.text


def test_no_log_line_holds_a_reason_or_a_body(
    gateway: Gateway, letters: Letters, caplog: pytest.LogCaptureFixture
) -> None:
    dead, other = letters.dead(), letters.dead()
    with caplog.at_level(logging.DEBUG):
        gateway.as_admin("POST", f"/dead-letters/{dead}/discard", json={"reason": f"{NAME} asked"})
        gateway.as_admin("POST", f"/dead-letters/{other}/replay")
        gateway.as_admin("GET", f"/dead-letters/{other}")

    assert f"dead letter of exchange {dead} discarded by the admin" in caplog.text
    assert NAME not in caplog.text and BODY.decode() not in caplog.text


@pytest.mark.parametrize("settings", [{"relay_enabled": True}], indirect=True)
def test_a_replayed_dead_letter_is_delivered_by_the_served_gateways_relay(
    gateway: Gateway, letters: Letters, destination: Destination
) -> None:
    exchange_id = letters.queued()  # the relay runs: it tries the message, refused for good
    assert wait_until(lambda: outbox_row(gateway.runtime, exchange_id).status == DEAD, 30)
    destination.status = 202

    replayed = gateway.as_admin("POST", f"/dead-letters/{exchange_id}/replay")

    assert replayed.status_code == 200
    assert wait_until(lambda: outbox_row(gateway.runtime, exchange_id).status == DELIVERED, 30)
    assert destination.applied[exchange_id] == 1 and destination.bodies == [BODY]


# --- as documented ---------------------------------------------------------------------------


def test_every_answer_of_the_dead_letter_routes_is_one_the_document_gives(
    gateway: Gateway, letters: Letters
) -> None:
    """Each documented status of each route provoked, each answer checked against the
    document, as JSON and as FHIR (tests/api/test_openapi.py leaves these routes to this)."""
    conformance = Conformance(gateway.call("GET", "/openapi.json").json())
    check = conformance.check
    dead, purged, replayed, discarded = (letters.dead() for _ in range(4))
    with gateway.runtime.db.unit_of_work() as session:  # only `purged` is past the period
        session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.exchange_id == purged)
            .values(attempted_at=utc_now() - dt.timedelta(days=60))
        )
    purge_dead_bodies(gateway.runtime.db, utc_now(), dt.timedelta(days=30))
    doubled = [*gateway.admin.items(), *gateway.admin.items()]
    for method, path in ROUTES:
        concrete = path.replace("{exchange_id}", dead)
        body = {"json": BODIES[path]} if path in BODIES else {}
        for accept in ({}, FHIR):
            anyone = gateway.call(method, concrete, accept, **body)
            assert check(method, path, anyone).status == 401
            twice = gateway.call(method, concrete, [*doubled, *accept.items()], **body)
            assert check(method, path, twice).status == 400
            as_dpo = gateway.call(method, concrete, {**gateway.dpo, **accept}, **body)
            assert check(method, path, as_dpo).status == 403
            if path in BODIES:
                padded = {**BODIES[path], "x": "x" * BODY_LIMIT}
                too_large = gateway.call(method, concrete, {**gateway.admin, **accept}, json=padded)
                assert check(method, path, too_large).status == 413
                bad = gateway.call(method, concrete, {**gateway.admin, **accept}, json={"x": 1})
                assert check(method, path, bad).status == 422
            if "{exchange_id}" in path:
                absent = path.replace("{exchange_id}", UNKNOWN)
                answer = gateway.call(method, absent, {**gateway.admin, **accept}, **body)
                assert check(method, path, answer).status == 404
    check("GET", "/dead-letters", gateway.as_admin("GET", "/dead-letters"))  # 200
    for params in ({"destination": "Not An Id"}, {"unknown": "filter"}):
        answer = gateway.as_admin("GET", "/dead-letters", params=params)
        assert check("GET", "/dead-letters", answer).status == 422
    check("GET", "/dead-letters/{exchange_id}", gateway.as_admin("GET", f"/dead-letters/{dead}"))
    replay = "/dead-letters/{exchange_id}/replay"
    for exchange_id, status in ((replayed, 200), (replayed, 409), (purged, 409)):
        answer = gateway.as_admin("POST", f"/dead-letters/{exchange_id}/replay")
        assert check("POST", replay, answer).status == status
    assert answer.json()["reason"] == "body_purged"
    discard = "/dead-letters/{exchange_id}/discard"
    for status in (200, 409):
        answer = gateway.as_admin(
            "POST", f"/dead-letters/{discarded}/discard", json={"reason": "checked"}
        )
        assert check("POST", discard, answer).status == status
    replay_all = "/dead-letters/replay"
    for destination, status in (("dst", 200), ("nowhere", 404)):
        answer = gateway.as_admin("POST", replay_all, json={"destination": destination})
        assert check("POST", replay_all, answer).status == status
    for method, path in ROUTES:
        assert conformance.unprovoked(method, path) == set(), f"{method} {path}"

"""A withdrawal propagated: the next transfer is denied, what has not left is cancelled, and
each recipient that received data under the consent is told through its adapter.

The civil registry is a plain recording server here (the demo's stand-in answers whatever it
receives as a birth). With the relay off (tests/api/conftest.py), a test delivers by draining
the outbox itself, so it knows what had left when it withdraws; the Must-show runs the relay.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from adapters.kit.contract import Rendered
from adapters.opencrvs import OpenCrvsAdapter
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway import systems
from gateway.canonical import CONSENT_WITHDRAWAL, Identifier, Payload
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment, birth_notification, wait_for
from gateway.demo.server import ServedGateway
from gateway.demo.standins import StandIn
from gateway.runtime import Runtime
from gateway.store.models import ConsentRow, ExchangeConsent, OutboxMessage
from gateway.subjects import pseudonym_of
from tests.api.helpers import admin_headers

CHILD, MOTHER, FATHER = "KKM-25-001234", "KKM-19-004567", "KKM-19-004568"
BIRTH = ["identity", "nationality", "identifiers", "family", "birth"]


@pytest.fixture
def registry(env: DemoEnvironment) -> Iterator[StandIn]:
    """The civil registry as a server that records what it receives and answers 202."""
    standin = StandIn(CIVIL_REGISTRY).start()
    with env.runtime.db.unit_of_work() as session:
        systems.move(session, CIVIL_REGISTRY, standin.url)
    yield standin
    standin.stop()


def admin(env: DemoEnvironment, method: str, path: str, body: Any = None) -> httpx.Response:
    headers = admin_headers(env.runtime)
    return httpx.request(method, f"{env.gateway_url}{path}", json=body, headers=headers, timeout=30)


def grant_family(env: DemoEnvironment) -> dict[str, str]:
    """Replace the demo's consents to the civil registry by grants made over HTTP: the parents'
    own, and the newborn's by a parent. Return each person's consent id."""
    with env.runtime.db.reading() as session:
        demo = session.scalars(
            select(ConsentRow.id).where(ConsentRow.recipient == CIVIL_REGISTRY)
        ).all()
    for consent_id in demo:
        assert admin(env, "POST", f"/consents/{consent_id}/withdraw").status_code == 200
    granted = {}
    for person in (CHILD, MOTHER, FATHER):
        grant = {
            "subject": {"scheme": "progres-individual", "value": person},
            "recipient": CIVIL_REGISTRY,
            "purpose": "birth-registration",
            "categories": BIRTH,
        }
        if person == CHILD:
            grant |= {
                "granted_by": "guardian",
                "guardian_relationship": "parent",
                "child_views": "a newborn: no views can be expressed (case note CN-0042)",
            }
        answer = admin(env, "POST", "/consents", grant)
        assert answer.status_code == 201, answer.text
        granted[person] = answer.json()["id"]
    return granted


def submit(env: DemoEnvironment) -> httpx.Response:
    return env.submit_birth(CIVIL_REGISTRY)


def outbox_row(env: DemoEnvironment, exchange_id: str) -> OutboxMessage:
    with env.runtime.db.reading() as session:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.exchange_id == exchange_id)
        ).one()


def exchange(env: DemoEnvironment, exchange_id: str) -> dict[str, Any]:
    answer = admin(env, "GET", f"/exchanges/{exchange_id}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def referenced(notice: dict[str, Any]) -> list[str]:
    """The exchange ids an OpenCRVS withdrawal notice (an STU3 Consent) names."""
    return [d["reference"]["identifier"]["value"].removeprefix("urn:uuid:") for d in notice["data"]]


def test_must_show_the_next_transfer_is_denied_and_the_recipient_is_told(
    env: DemoEnvironment, registry: StandIn
) -> None:
    """Consent withdrawal: the next transfer is denied and earlier recipients are notified."""
    env.runtime.start_relay()  # delivered as in production, by the relay, once committed
    consents = grant_family(env)
    sent = submit(env)
    assert sent.status_code == 202, sent.text
    assert wait_for(lambda: len(registry.received) == 1)  # delivered to 127.0.0.1

    withdrawn = admin(env, "POST", f"/consents/{consents[CHILD]}/withdraw")
    after = submit(env)

    assert withdrawn.status_code == 200, withdrawn.text
    assert after.status_code == 403
    assert after.json()["reasons"] == ["consent.withdrawn"]
    assert wait_for(lambda: len(registry.received) == 2)
    notice = registry.received[1]
    consent = notice.json()
    assert (consent["resourceType"], consent["status"]) == ("Consent", "inactive")
    assert consent["identifier"]["value"] == f"urn:uuid:{consents[CHILD]}"
    assert referenced(consent) == [sent.json()["exchange_id"]]
    assert b"Nyandeng" not in notice.body and CHILD.encode() not in notice.body

    def told() -> dict[str, Any]:
        shown: dict[str, Any] = admin(env, "GET", f"/consents/{consents[CHILD]}").json()
        return shown

    assert wait_for(lambda: told()["notices"][0]["status"] == "delivered")
    [shown] = told()["notices"]
    assert shown["recipient"] == CIVIL_REGISTRY
    assert shown["covers"] == [sent.json()["exchange_id"]]
    assert notice.headers["X-Exchange-Id"] == shown["exchange_id"]
    assert len(registry.received) == 2  # the denied transfer sent nothing


def test_a_withdrawal_cancels_what_has_not_left_and_tells_about_what_has(
    env: DemoEnvironment, registry: StandIn
) -> None:
    consents = grant_family(env)
    first = submit(env).json()["exchange_id"]
    env.runtime.relay.drain()  # delivered
    second = submit(env).json()["exchange_id"]  # queued, not yet sent
    assert len(registry.received) == 1

    withdrawn = admin(env, "POST", f"/consents/{consents[MOTHER]}/withdraw").json()

    assert withdrawn["exchanges"] == 2
    with env.runtime.db.reading() as session:
        relied = session.scalars(
            select(ExchangeConsent.consent_id).where(ExchangeConsent.exchange_id == first)
        ).all()
    assert sorted(relied) == sorted(consents.values())  # written with the exchange's record
    assert withdrawn["cancelled"] == [second]
    [notice] = withdrawn["notices"]
    assert (notice["covers"], notice["status"], notice["problem"]) == ([first], "pending", None)
    cancelled = outbox_row(env, second)
    assert (cancelled.status, cancelled.body) == ("cancelled", None)
    assert exchange(env, second)["decision"] == "allowed"  # lawful when decided; never sent
    assert exchange(env, second)["delivery"]["status"] == "cancelled"
    # The others' consents show the cancelled message too: it relied on them as well.
    assert admin(env, "GET", f"/consents/{consents[CHILD]}").json()["cancelled"] == [second]

    env.runtime.relay.drain()

    assert len(registry.received) == 2  # the notice; the cancelled birth never goes
    body = registry.received[1].body
    assert referenced(json.loads(body)) == [first]
    record = exchange(env, notice["exchange_id"])
    mother = pseudonym_of(
        env.runtime.pseudonymiser, Identifier(scheme="progres-individual", value=MOTHER)
    )
    assert {k: record[k] for k in ("source", "destination", "message_type", "decision")} == {
        "source": None,
        "destination": CIVIL_REGISTRY,
        "message_type": CONSENT_WITHDRAWAL,
        "decision": "allowed",
    }
    assert (record["reasons"], record["legal_basis"]) == (["consent.withdrawn"], "legal-obligation")
    assert (record["subjects"], record["categories"]) == ([mother], [])
    assert record["payload_digest"] == hashlib.sha256(body).hexdigest()
    assert record["mapping_version"] == "opencrvs/consent-withdrawal@1"
    assert record["delivery"]["status"] == "delivered"
    assert admin(env, "GET", f"/consents/{consents[MOTHER]}").json()["notices"][0]["status"] == (
        "delivered"
    )
    # The DPO sees the notice in the mother's history, and exports it like any disclosure.
    dpo = {"Authorization": f"Bearer {env.runtime.settings.resolved_dpo_token()}"}
    asked = {"scheme": "progres-individual", "value": MOTHER}
    history = httpx.post(f"{env.gateway_url}/dpo/subjects/history", json=asked, headers=dpo)
    assert notice["exchange_id"] in [e["exchange_id"] for e in history.json()["exchanges"]]
    assert httpx.get(f"{env.gateway_url}/dpo/exchanges.fhir", headers=dpo).status_code == 200


def test_an_attempt_that_failed_may_have_arrived_so_it_is_told_and_cancelled(
    env: DemoEnvironment, registry: StandIn
) -> None:
    consents = grant_family(env)
    registry.status = 503  # answers, but not with success: the message may have been read
    attempted = submit(env).json()["exchange_id"]
    env.runtime.relay.drain()
    assert outbox_row(env, attempted).attempts == 1

    withdrawn = admin(env, "POST", f"/consents/{consents[FATHER]}/withdraw").json()

    assert withdrawn["cancelled"] == [attempted]
    assert withdrawn["notices"][0]["covers"] == [attempted]
    registry.status = 202
    env.runtime.relay.drain()
    [notice] = registry.received
    assert referenced(notice.json()) == [attempted]


def test_the_next_transfer_is_denied_for_whoever_withdraws(
    env: DemoEnvironment, registry: StandIn
) -> None:
    consents = grant_family(env)
    assert submit(env).status_code == 202
    for person in (CHILD, MOTHER, FATHER):
        assert admin(env, "POST", f"/consents/{consents[person]}/withdraw").status_code == 200

    denied = submit(env)

    assert denied.status_code == 403
    assert denied.json()["reasons"] == ["consent.withdrawn"]


# --- a recipient whose adapter cannot render a withdrawal notice ---------------------------


class OpenCrvsWithoutNotices:
    """OpenCRVS as an adapter written before withdrawal notices were: it renders births only."""

    name = "opencrvs"

    def __init__(self) -> None:
        self._adapter = OpenCrvsAdapter()
        self.mappings = self._adapter.mappings
        self.native_fields = self._adapter.native_fields
        self.parses = self._adapter.parses
        self.renders = self._adapter.renders - {CONSENT_WITHDRAWAL}
        self.media_types = self._adapter.media_types

    def parse(self, message_type: str, body: bytes) -> Payload:
        return self._adapter.parse(message_type, body)

    def render(self, message_type: str, payload: Payload) -> Rendered:
        return self._adapter.render(message_type, payload)


@pytest.fixture
def without_notices(settings: Settings) -> Iterator[DemoEnvironment]:
    factories: dict[str, Callable[[], Any]] = {
        "progres": ProgresAdapter,
        "opencrvs": OpenCrvsWithoutNotices,
    }
    runtime = Runtime.build(settings, adapters=AdapterRegistry.from_factories(factories))
    served = ServedGateway(runtime).start()
    environment = DemoEnvironment.start(runtime, served.url)
    yield environment
    environment.stop()
    served.stop()


def test_a_notice_the_adapter_cannot_render_is_recorded_and_the_withdrawal_stands(
    without_notices: DemoEnvironment,
) -> None:
    env = without_notices
    registry = StandIn(CIVIL_REGISTRY).start()
    try:
        with env.runtime.db.unit_of_work() as session:
            systems.move(session, CIVIL_REGISTRY, registry.url)
        consents = grant_family(env)
        sent = submit(env).json()["exchange_id"]
        env.runtime.relay.drain()

        withdrawn = admin(env, "POST", f"/consents/{consents[CHILD]}/withdraw")

        assert withdrawn.status_code == 200, withdrawn.text
        [notice] = withdrawn.json()["notices"]
        assert (notice["status"], notice["covers"]) == ("not-rendered", [sent])
        assert notice["problem"] == "opencrvs does not render consent-withdrawal"
        record = exchange(env, notice["exchange_id"])
        assert (record["decision"], record["reasons"]) == ("invalid", ["invalid_envelope"])
        assert record["delivery"] is None  # nothing was queued
        assert submit(env).json()["reasons"] == ["consent.withdrawn"]
        env.runtime.relay.drain()
        assert len(registry.received) == 1  # the birth only
    finally:
        registry.stop()


def test_the_demo_birth_is_what_these_tests_send() -> None:
    individuals = json.loads(birth_notification())["individuals"]
    assert [i["progres_individualid"] for i in individuals] == [CHILD, MOTHER, FATHER]

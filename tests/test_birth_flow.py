"""The birth flow end to end, over HTTP, with real stand-in servers for both systems."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.audit.record import Record
from gateway.canonical import Identifier
from gateway.config import Settings
from gateway.demo.flow import (
    CIVIL_REGISTRY,
    EMBASSY,
    REGISTRATION,
    DemoEnvironment,
    birth_notification,
    wait_for,
)
from gateway.demo.server import ServedGateway
from gateway.runtime import Runtime
from gateway.store.models import ConsentRow, ExchangeRecord, OutboxMessage
from gateway.subjects import pseudonym_of
from tests.fixtures.births import without_countries

SOUTH_SUDAN_FORMS = ["SSD", "SS", "728", "South Sudan", "south sudan"]


@pytest.fixture
def env(served: ServedGateway) -> Iterator[DemoEnvironment]:
    environment = DemoEnvironment.start(served.runtime, served.url)
    yield environment
    environment.stop()


def family() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(birth_notification())
    return doc


def records(served: ServedGateway) -> list[ExchangeRecord]:
    with served.runtime.db.unit_of_work() as session:
        return list(session.scalars(select(ExchangeRecord).order_by(ExchangeRecord.seq)))


def test_birth_reaches_civil_registry_and_number_returns(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    response = env.submit_birth(CIVIL_REGISTRY, "birth-1-key")

    assert response.status_code == 202, response.text
    progres, registry = env.standins[REGISTRATION], env.standins[CIVIL_REGISTRY]
    assert wait_for(lambda: len(progres.received) == 1)
    # The stand-in notes its confirmation after its POST returned, which the relay may have
    # delivered to proGres before that: wait for it too, with a deadline.
    assert wait_for(lambda: len(env.confirmations) == 1)
    notification = registry.received[0].json()
    assert notification["resourceType"] == "Bundle"
    composition = notification["entry"][0]["resource"]
    assert composition["type"]["coding"][0]["code"] == "birth-notification"
    assert "Nyandeng" in registry.received[0].body.decode()
    sent_number = next(
        i["value"]
        for e in json.loads(env.confirmations[0].request.content)["entry"]
        if e["resource"]["resourceType"] == "Task"
        for i in e["resource"]["identifier"]
        if i["system"].endswith("birth-registration-number")
    )
    update = progres.received[0].json()
    assert update["progres_birthcertificatenumber"] == sent_number
    assert update["progres_individualid"] == "KKM-25-001234"
    assert (
        progres.received[0].headers["Idempotency-Key"] == env.confirmations[0].json()["exchange_id"]
    )
    decisions = [(r.message_type, r.decision, r.destination) for r in records(served)]
    assert decisions == [
        ("birth-notification", "allowed", CIVIL_REGISTRY),
        ("birth-registration-confirmation", "allowed", REGISTRATION),
    ]
    status = httpx.get(
        f"{env.gateway_url}/exchanges/{response.json()['exchange_id']}",
        headers={"Authorization": f"Bearer {env.credentials[REGISTRATION]}"},
    ).json()
    assert status["delivery"]["status"] == "delivered"
    # Minimum data: the mother's specific needs and legal status were in the message, and
    # neither is among the categories sent.
    assert status["categories"] == ["birth", "family", "identifiers", "identity", "nationality"]


def test_embassy_of_origin_is_denied_even_with_consent(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    response = env.submit_birth(EMBASSY, "embassy-key-1")

    assert response.status_code == 403
    assert response.json()["reasons"] == ["origin.risk_country"]
    [record] = records(served)
    assert (record.decision, record.destination_jurisdiction) == ("denied", "SSD")
    with served.runtime.db.unit_of_work() as session:
        assert session.scalars(select(OutboxMessage)).all() == []
    assert env.standins[EMBASSY].received == []


def test_later_message_without_nationality_is_still_denied(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    assert env.submit_birth(CIVIL_REGISTRY, "first-with-origin").status_code == 202

    stripped = json.dumps(without_countries(family())).encode()
    response = env.submit_birth(EMBASSY, body=stripped)

    assert response.status_code == 403
    assert response.json()["reasons"] == ["origin.risk_country"]


def test_unknown_risk_countries_to_a_foreign_state_is_denied(env: DemoEnvironment) -> None:
    stripped = json.dumps(without_countries(family())).encode()

    response = env.submit_birth(EMBASSY, body=stripped)

    assert response.status_code == 403
    assert response.json()["reasons"] == ["origin.unknown_risk_countries"]


@pytest.mark.parametrize("written", SOUTH_SUDAN_FORMS)
def test_origin_in_any_form_is_denied(env: DemoEnvironment, written: str) -> None:
    doc = family()
    for individual in doc["individuals"]:
        lookup = {"Id": str(uuid.uuid4()), "LogicalName": "progres_country", "Name": written}
        individual["progres_countryoforigin"] = lookup
        individual["progres_nationality"] = [lookup]
        individual["progres_formerhabitualresidence"] = []
        individual["progres_countryoffearedpersecution"] = []

    response = env.submit_birth(EMBASSY, body=json.dumps(doc).encode())

    assert response.status_code == 403, response.text
    assert response.json()["reasons"] == ["origin.risk_country"]


@pytest.mark.parametrize("written", ["SS", "728", "South Sudan"])
def test_embassy_jurisdiction_in_any_form_is_the_same_state(
    served: ServedGateway, written: str
) -> None:
    with httpx.Client(base_url=served.url) as client:
        admin = {"Authorization": f"Bearer {served.runtime.settings.resolved_admin_token()}"}
        created = client.post(
            "/systems",
            headers=admin,
            json={
                "id": "embassy-ssd",
                "name": "Embassy",
                "adapter": "opencrvs",
                "endpoint": "http://127.0.0.1:9/",
                "jurisdiction": written,
            },
        )
    assert created.status_code == 201, created.text
    assert created.json()["jurisdiction"] == "SSD"


def test_withdrawn_consent_stops_the_next_transfer(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    assert env.submit_birth(CIVIL_REGISTRY, "before-withdrawal").status_code == 202
    registry = env.standins[CIVIL_REGISTRY]
    assert wait_for(lambda: len(registry.received) == 1)  # delivered, not cancelled
    admin = {"Authorization": f"Bearer {served.runtime.settings.resolved_admin_token()}"}
    with served.runtime.db.reading() as session:
        child = pseudonym_of(
            served.runtime.pseudonymiser,
            Identifier(scheme="progres-individual", value="KKM-25-001234"),
        )
        consent_id = session.scalars(
            select(ConsentRow.id).where(
                ConsentRow.subject == child, ConsentRow.recipient == CIVIL_REGISTRY
            )
        ).one()
    withdrawn = httpx.post(f"{served.url}/consents/{consent_id}/withdraw", headers=admin)
    assert withdrawn.status_code == 200

    response = env.submit_birth(CIVIL_REGISTRY, "after-withdrawal")

    assert response.status_code == 403
    assert response.json()["reasons"] == ["consent.withdrawn"]
    # The registry that received the birth is told of the withdrawal; nothing else reaches it.
    assert wait_for(lambda: len(registry.received) == 2)
    assert registry.received[1].json()["resourceType"] == "Consent"


def test_every_attempt_recorded_once_without_personal_data(
    env: DemoEnvironment, served: ServedGateway
) -> None:
    attempts = [
        env.submit_birth(CIVIL_REGISTRY, "pd-allowed"),
        env.submit_birth(EMBASSY, "pd-denied"),
        env.submit_birth(CIVIL_REGISTRY, body=b"{not json"),
        env.submit_birth("no-such-system", body=birth_notification()),
    ]
    assert [a.status_code for a in attempts] == [202, 403, 422, 422]
    assert wait_for(lambda: len(env.standins[REGISTRATION].received) == 1)
    assert wait_for(lambda: len(env.confirmations) == 1)
    replay = env.submit_birth(CIVIL_REGISTRY, "pd-allowed")
    assert replay.status_code == 200
    assert replay.json()["exchange_id"] == attempts[0].json()["exchange_id"]

    rows = records(served)
    ids = {a.json()["exchange_id"] for a in attempts} | {env.confirmations[0].json()["exchange_id"]}
    assert sorted(r.id for r in rows) == sorted(ids)  # five attempts, five records, no more
    dump = json.dumps([{c: str(getattr(r, c)) for c in r.__table__.columns.keys()} for r in rows])
    for individual in family()["individuals"]:
        for attribute in (
            "progres_individualid",
            "progres_givenname",
            "progres_familyname",
            "progres_dateofbirth",
        ):
            assert individual[attribute] not in dump
        for document in individual.get("progres_documents", []):
            assert document["progres_documentnumber"] not in dump
    for row in rows:
        stored = {c: getattr(row, c) for c in row.__table__.columns.keys()}
        assert Record.of(stored).leaf_hash() == row.leaf_hash


def test_down_destination_gets_the_exchange_after_a_gateway_restart(settings: Settings) -> None:
    first = ServedGateway(Runtime.build(settings)).start()
    env = DemoEnvironment.start(first.runtime, first.url)
    registry = env.standins[CIVIL_REGISTRY]
    port = registry.port
    registry.stop()  # the civil registry is down

    response = env.submit_birth(CIVIL_REGISTRY, "while-down")
    assert response.status_code == 202
    exchange_id = response.json()["exchange_id"]

    def attempts() -> int:
        with first.runtime.db.unit_of_work() as session:
            row = session.scalars(
                select(OutboxMessage).where(OutboxMessage.exchange_id == exchange_id)
            ).one()
            return row.attempts

    assert wait_for(lambda: attempts() >= 2)
    first.stop()

    registry.port = port
    registry.start()  # back up, on the address the gateway has on file
    second = ServedGateway(Runtime.build(settings)).start()
    env.gateway_url = second.url
    try:
        assert wait_for(lambda: len(registry.received) == 1)
        assert registry.received[0].headers["Idempotency-Key"] == exchange_id

        def settled() -> tuple[str, bytes | None]:
            with second.runtime.db.unit_of_work() as session:
                row = session.scalars(
                    select(OutboxMessage).where(OutboxMessage.exchange_id == exchange_id)
                ).one()
                return row.status, row.body

        # The relay settles the row once the registry has answered, a moment after receipt.
        assert wait_for(lambda: settled() == ("delivered", None))
    finally:
        env.stop()
        second.stop()

"""Subscribe to a DCI civil registry's live births; its notice walks the road to proGres.

Real parts: the gateway served over HTTP on 127.0.0.1 with its relay running, a stand-in DCI
registry (tests/dci/registry.py) that is subscribed to and posts its notice to the notify
URL it was given, and a stand-in proGres receiving the registration number linked back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from gateway import systems
from gateway.audit.repository import stored
from gateway.cli_dci import dci_app
from gateway.config import Settings
from gateway.demo.flow import wait_for
from gateway.demo.server import ServedGateway
from gateway.demo.standins import StandIn
from gateway.runtime import Runtime
from gateway.store.models import ExchangeRecord
from gateway.systems import SystemSpec
from tests.api.test_openapi import Answer, Conformance
from tests.dci.registry import BRN, PROGRES_ID, StandInDciRegistry, notice, person
from tests.fixtures.exchanges import queued, recorded
from tests.fixtures.network import connect, read_answer

CRVS, PROGRES, OTHER = "crvs-national", "unhcr-progres", "embassy-ssd"
SUBSCRIPTION = {
    "registry": CRVS,
    "destination": PROGRES,
    "purpose": "birth-registration",
    "legal_basis": "public-interest",
}


@dataclass
class World:
    url: str
    runtime: Runtime
    registry: StandInDciRegistry
    progres: StandIn
    credentials: dict[str, str]
    admin: dict[str, str]

    def subscribe(self, **changes: Any) -> httpx.Response:
        given = {**SUBSCRIPTION, "notify_url": f"{self.url}/dci/notify", **changes}
        return httpx.post(f"{self.url}/dci/subscriptions", json=given, headers=self.admin)

    def record(self, exchange_id: str) -> ExchangeRecord:
        with self.runtime.db.reading() as session:
            found = stored(session, exchange_id)
        assert found is not None, "every attempt leaves its record"
        return found


@pytest.fixture
def world(gateway: ServedGateway, registry: StandInDciRegistry) -> Iterator[World]:
    progres = StandIn("progres").start()
    specs = [
        SystemSpec(
            id=CRVS,
            name="Civil registry (DCI)",
            adapter="dci",
            endpoint=registry.url,
            jurisdiction="KEN",
            outbound_token="registry-token",
        ),
        SystemSpec(
            id=PROGRES, name="proGres", adapter="progres", endpoint=progres.url, jurisdiction="UNO"
        ),
        SystemSpec(id=OTHER, name="Embassy", adapter="opencrvs", jurisdiction="SSD"),
    ]
    runtime = gateway.runtime
    credentials = {spec.id: runtime.systems.register(spec)[1] for spec in specs}
    admin = {"Authorization": f"Bearer {runtime.settings.resolved_admin_token()}"}
    yield World(gateway.url, runtime, registry, progres, credentials, admin)
    progres.stop()


def test_subscribing_sends_a_dci_subscribe_for_live_births(world: World) -> None:
    answer = world.subscribe()

    assert answer.status_code == 201, answer.text
    assert answer.json()["correlation_id"] == "9876543210"  # the registry's ACK
    [asked] = world.registry.asked
    assert asked.path == "/registry/subscribe"
    assert asked.headers["Authorization"] == "Bearer registry-token"
    assert asked.body["header"]["action"] == "subscribe"
    assert asked.body["header"]["sender_uri"] == f"{world.url}/dci/notify"
    [request] = asked.body["message"]["subscribe_request"]
    criteria = request["subscribe_criteria"]
    assert criteria["reg_event_type"] == "spdci-common:RegistryEventType:LiveBirth"
    assert criteria["notify_record_type"] == "spdci-extensions-dci:Person"
    assert criteria["filter"]


def test_a_notice_is_linked_back_to_progres_once(world: World) -> None:
    assert world.subscribe().status_code == 201
    body = notice(person())

    answer = world.registry.notify(world.credentials[CRVS], body)

    assert answer.status_code == 200, answer.text
    ack = answer.json()["message"]
    assert ack["ack_status"] == "ACK"
    exchange_id = answer.headers["X-Exchange-Id"]
    assert ack["correlation_id"] == exchange_id
    assert wait_for(lambda: len(world.progres.received) == 1)
    sent = world.progres.received[0].json()
    assert sent["progres_individualid"] == PROGRES_ID
    assert sent["progres_birthcertificatenumber"] == BRN
    record = world.record(exchange_id)
    assert (record.source, record.destination, record.decision) == (CRVS, PROGRES, "allowed")
    assert record.message_type == "birth-registration-confirmation"
    assert (record.mapping_version or "").startswith("dci/birth-registration-confirmation@1")
    # Posted again (the registry never heard the answer): the same exchange, not a second.
    again = world.registry.notify(world.credentials[CRVS], body)
    assert again.status_code == 200
    assert again.headers["X-Exchange-Id"] == exchange_id
    assert world.progres.hits == 1


def test_only_the_subscribed_registry_may_notify(world: World) -> None:
    body = notice(person())
    world.registry.notify_url = f"{world.url}/dci/notify"  # known, though never given
    unsubscribed = world.registry.notify(world.credentials[CRVS], body)
    assert unsubscribed.status_code == 403
    assert world.subscribe().status_code == 201
    stranger = world.registry.notify("gw_not-a-credential", body)
    assert stranger.status_code == 401
    other = world.registry.notify(world.credentials[OTHER], body)
    assert other.status_code == 403
    assert recorded(world.runtime) == {stranger.headers["X-Exchange-Id"]: "invalid"}
    assert queued(world.runtime) == {}  # committed before the answers, as a queued one would be
    assert world.progres.hits == 0


@pytest.mark.parametrize(
    ("body", "location"),
    [
        (notice(person(progres_id=None) | {"identifier": []}), "/message/notify_event/0/data"),
        (notice(person(), event="spdci-common:RegistryEventType:Death"), "reg_event_type"),
        (b'{"header": {"action": "notify"', "/"),
        (json.dumps(notice(person())).encode().replace(b'"notify"', b'"search"'), "action"),
    ],
)
def test_a_bad_notice_is_refused_naming_the_element_and_recorded(
    world: World, body: Any, location: str
) -> None:
    assert world.subscribe().status_code == 201
    answer = world.registry.notify(world.credentials[CRVS], body)

    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert any(location in p["location"] for p in problems), problems
    assert BRN not in answer.text and "Martinez" not in answer.text
    assert world.record(answer.headers["X-Exchange-Id"]).decision == "invalid"
    assert queued(world.runtime) == {}
    assert world.progres.hits == 0


def test_subscribing_checks_before_sending(world: World) -> None:
    assert world.subscribe(registry=PROGRES).status_code == 422  # proGres takes none
    assert world.subscribe(destination="nobody").status_code == 422
    assert world.subscribe(message_type="birth-notification").status_code == 422
    assert world.registry.asked == []


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A short body deadline, so a notice that never ends is refused within the test."""
    return settings.model_copy(update={"http_body_timeout_seconds": 1.0})


def test_every_answer_is_one_the_document_gives(world: World) -> None:
    document = httpx.get(f"{world.url}/openapi.json").json()
    conformance = Conformance(document)
    notify, subscribe = ("POST", "/dci/notify"), ("POST", "/dci/subscriptions")
    crvs = {"Authorization": f"Bearer {world.credentials[CRVS]}"}
    other = {"Authorization": f"Bearer {world.credentials[OTHER]}"}
    given = {**SUBSCRIPTION, "notify_url": f"{world.url}/dci/notify"}

    def post(path: str, headers: Any = None, **request: Any) -> httpx.Response:
        return httpx.post(f"{world.url}{path}", headers=headers, timeout=30, **request)

    def check(route: tuple[str, str], answer: httpx.Response, status: int) -> None:
        assert answer.status_code == status, answer.text
        conformance.check(*route, answer)

    # subscriptions: 401, 403, 400, 422, 413, 502, 201
    check(subscribe, post("/dci/subscriptions", json=given), 401)
    check(subscribe, post("/dci/subscriptions", crvs, json=given), 403)
    doubled = [*world.admin.items(), *world.admin.items()]
    check(subscribe, post("/dci/subscriptions", doubled, json=given), 400)
    check(subscribe, post("/dci/subscriptions", world.admin, json={**given, "purpose": "?"}), 422)
    big = {**world.admin, "Content-Type": "application/json"}
    check(subscribe, post("/dci/subscriptions", big, content=b" " * (2 << 20)), 413)
    world.registry.stop()  # a registry that cannot be reached: nothing is kept
    check(subscribe, post("/dci/subscriptions", world.admin, json=given), 502)
    world.registry.start()
    with world.runtime.db.unit_of_work() as session:  # it listens on another port now
        systems.get(session, CRVS).endpoint = world.registry.url
    world.runtime.directory.clear()
    check(subscribe, post("/dci/subscriptions", world.admin, json=given), 201)
    # notices: 401, 400, 403, 413, 408, 422, 200
    body = json.dumps(notice(person())).encode()
    typed = {**crvs, "Content-Type": "application/json"}
    check(notify, post("/dci/notify", content=body), 401)
    check(notify, post("/dci/notify", [*crvs.items(), *crvs.items()], content=body), 400)
    check(notify, post("/dci/notify", other, content=body), 403)
    check(notify, post("/dci/notify", typed, content=b" " * (2 << 20)), 413)
    with connect(world.url) as sock:  # a notice that never ends
        sock.sendall(
            b"POST /dci/notify HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {world.credentials[CRVS]}\r\n".encode()
            + b"Content-Length: 1000\r\n\r\n{"
        )
        status, headers, answered = read_answer(sock)
    assert status == 408
    conformance.check(*notify, Answer(status, headers, answered))
    check(notify, post("/dci/notify", typed, content=b"{}"), 422)
    check(notify, post("/dci/notify", typed, content=body), 200)
    for route in (notify, subscribe):
        assert conformance.unprovoked(*route) == set(), route


def test_the_command_line_subscribes(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = typer.Typer()
    gateway.add_typer(dci_app, name="dci")  # as gateway/cli.py adds it: `gateway dci ...`
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", world.runtime.settings.resolved_admin_token())

    def run(*args: str) -> Any:
        return CliRunner().invoke(gateway, ["dci", "subscribe", *args, "--url", world.url])

    done = run("--system", CRVS, "--to", PROGRES)
    assert done.exit_code == 0, done.output
    assert f"subscribed to {CRVS}: live births go to {PROGRES}" in done.output
    assert world.registry.notify_url == f"{world.url}/dci/notify"
    assert run("--system", PROGRES, "--to", PROGRES).exit_code == 1  # proGres takes none

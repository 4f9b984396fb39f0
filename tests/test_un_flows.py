"""UN flows end to end, over HTTP, through the real pipeline, to real servers on 127.0.0.1.

proGres (UNHCR) refers an unaccompanied child to a child-protection agency's Primero
(UNICEF): the referral carries specific needs, so it waits for the DPO; once approved it
reaches Primero as a case creation, and Primero's case id comes back as the receipt. A
registration made in one proGres office goes to another, minimised to what the rule allows.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.opencrvs import OpenCrvsAdapter
from adapters.primero import PrimeroAdapter
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway.config import Settings
from gateway.demo.flow import wait_for
from gateway.demo.server import ServedGateway
from gateway.envelope import to_headers
from gateway.runtime import Runtime
from gateway.systems import SystemSpec
from tests.fixtures.exchanges import queued, recorded
from tests.fixtures.policies import agreement, policy_folder
from tests.registrations.conftest import OFFICES_AGREEMENT

PROGRES, PRIMERO, BRANCH = "unhcr-progres", "primero-cp", "unhcr-progres-nbo"
CASES_PATH = "/api/v2/cases"
RULES = "".join(
    ", ".join(line) + "\n"
    for line in [
        ("# UN flows (tests/test_un_flows.py)",),
        (
            *("p", "registration-authority", "child-protection", "referral", "child-protection"),
            *("vital-interests", "identity|nationality|identifiers|specific_needs"),
        ),
        (
            *("p", "registration-authority", "registration-office", "individual-registration"),
            *("registration", "public-interest", "identity|nationality|identifiers|family"),
        ),
        (
            *("p", "child-protection", "registration-authority", "referral", "child-protection"),
            *("vital-interests", "identity|nationality|identifiers|specific_needs"),
        ),
        ("g", PRIMERO, "child-protection"),
        ("g", BRANCH, "registration-office"),
        ("g", BRANCH, "asylum-authority"),
    ]
)
CP_AGREEMENT = agreement(
    "cp-referrals",
    ("registration-authority", "child-protection"),
    "child-protection",
    "identity|nationality|identifiers|specific_needs",
    "vital-interests",
    title="Referral of unaccompanied and separated children to child protection",
)
AGREEMENTS = CP_AGREEMENT + OFFICES_AGREEMENT


@dataclass
class Receiver:
    """A destination system: a real HTTP server that keeps what it is sent and answers."""

    answer: Callable[[bytes], tuple[int, bytes]]
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    answered: list[bytes] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.received.append((self.path, dict(self.headers.items()), body))
                status, answer = receiver.answer(body)
                receiver.answered.append(answer)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: what arrives is personal data."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def primero_answer(body: bytes) -> tuple[int, bytes]:
    """Answer a case creation as Primero v2 does: the case with its new id."""
    case = json.loads(body)["data"]
    created = {**case, "id": str(uuid.uuid4()), "case_id_display": uuid.uuid4().hex[:7]}
    return 200, json.dumps({"data": created}).encode()


def fixture(package: str, path: str) -> bytes:
    return files(package).joinpath(f"fixtures/{path}").read_bytes()


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The shipped policy, with the UN flows' rules and agreements added."""
    policy = policy_folder(tmp_path / "policy", RULES, AGREEMENTS)
    return settings.model_copy(update={"policy_dir": policy})


@pytest.fixture
def served(settings: Settings) -> Iterator[ServedGateway]:
    """The gateway with proGres, OpenCRVS and Primero registered explicitly."""
    registry = AdapterRegistry.from_factories(
        {"progres": ProgresAdapter, "opencrvs": OpenCrvsAdapter, "primero": PrimeroAdapter}
    )
    gateway = ServedGateway(Runtime.build(settings, adapters=registry)).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    started = {
        PRIMERO: Receiver(primero_answer).start(),
        BRANCH: Receiver(lambda body: (202, b"{}")).start(),
        PROGRES: Receiver(lambda body: (204, b"")).start(),
    }
    yield started
    for receiver in started.values():
        receiver.stop()


@pytest.fixture
def credentials(served: ServedGateway, receivers: dict[str, Receiver]) -> dict[str, str]:
    specs = [
        SystemSpec(id=PROGRES, name="UNHCR proGres v4 (Kakuma)", adapter="progres",
                   endpoint=receivers[PROGRES].url, jurisdiction="UNO"),
        SystemSpec(id=PRIMERO, name="Child protection, Primero v2", adapter="primero",
                   endpoint=receivers[PRIMERO].url + CASES_PATH, jurisdiction="KEN"),
        SystemSpec(id=BRANCH, name="UNHCR proGres v4 (Nairobi)", adapter="progres",
                   endpoint=receivers[BRANCH].url, jurisdiction="UNO"),
    ]  # fmt: skip
    return {spec.id: served.runtime.systems.register(spec)[1] for spec in specs}


def submit(served: ServedGateway, credential: str, body: bytes, **envelope: str) -> httpx.Response:
    headers = to_headers({"idempotency_key": f"un-{uuid.uuid4()}", **envelope})
    headers |= {"Authorization": f"Bearer {credential}", "Content-Type": "application/json"}
    return httpx.post(f"{served.url}/exchanges", content=body, headers=headers, timeout=30)


def status_of(served: ServedGateway, exchange_id: str) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {served.runtime.settings.resolved_admin_token()}"}
    answer = httpx.get(f"{served.url}/exchanges/{exchange_id}", headers=admin, timeout=30)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def refer_child(served: ServedGateway, credentials: dict[str, str]) -> httpx.Response:
    return submit(
        served,
        credentials[PROGRES],
        fixture("adapters.progres", "referral/unaccompanied-child.json"),
        destination=PRIMERO,
        message_type="referral",
        purpose="child-protection",
        legal_basis="vital-interests",
    )


def test_a_progres_referral_of_an_unaccompanied_child_reaches_primero_as_a_case(
    served: ServedGateway, credentials: dict[str, str], receivers: dict[str, Receiver]
) -> None:
    response = refer_child(served, credentials)

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "awaiting-approval"  # specific needs wait for the DPO
    exchange_id = accepted["exchange_id"]
    assert queued(served.runtime) == {exchange_id: "awaiting-approval"}  # the relay never claims it
    assert receivers[PRIMERO].received == []
    dpo = {"Authorization": f"Bearer {served.runtime.settings.resolved_dpo_token()}"}
    approved = httpx.post(
        f"{served.url}/dpo/approvals/{exchange_id}/approve", headers=dpo, timeout=30
    )
    assert approved.status_code == 200, approved.text

    primero = receivers[PRIMERO]
    assert wait_for(lambda: len(primero.received) == 1)
    path, headers, body = primero.received[0]
    assert path == CASES_PATH
    assert headers["Idempotency-Key"] == exchange_id
    assert json.loads(body) == {
        "data": {
            "module_id": "primeromodule-cp",
            "other_agency_id": "KKM-REF-2026-0042",
            "unhcr_individual_no": "KKM-26-004417",
            "name_first": "Achol",
            "name_last": "Garang",
            "sex": "female",
            "date_of_birth": "2013-06-01",
            "nationality": ["SSD"],
            "unaccompanied_separated_status": "unaccompanied_minor",
            "protection_concerns": ["trafficked_smuggled"],
            "risk_level": "high",
            "registration_date": "2026-11-30",
        }
    }

    def delivered() -> bool:
        return status_of(served, exchange_id)["delivery"]["status"] == "delivered"

    assert wait_for(delivered)
    status = status_of(served, exchange_id)
    assert status["categories"] == ["identifiers", "identity", "nationality", "specific_needs"]
    # Primero's answer named the case it created: that id is the delivery's receipt.
    assert status["delivery"]["receipt"] == json.loads(primero.answered[0])["data"]["id"]


def test_a_referral_primero_cannot_take_is_refused_before_anything_is_queued(
    served: ServedGateway, credentials: dict[str, str], receivers: dict[str, Receiver]
) -> None:
    """An anti-trafficking referral is not a child-protection case: Primero never sees it."""
    doc = json.loads(fixture("adapters.progres", "referral/unaccompanied-child.json"))
    doc["progres_referraltype"] = 125080002  # anti-trafficking: not a child-protection case
    response = submit(
        served,
        credentials[PROGRES],
        json.dumps(doc).encode(),
        destination=PRIMERO,
        message_type="referral",
        purpose="child-protection",
        legal_basis="vital-interests",
    )
    assert response.status_code == 422, response.text
    assert "Achol" not in response.text
    assert recorded(served.runtime) == {response.headers["X-Exchange-Id"]: "invalid"}
    assert queued(served.runtime) == {}  # committed before the answer, as a queued one would be
    assert receivers[PRIMERO].received == []


def test_a_progres_registration_goes_to_another_office_minimised(
    served: ServedGateway, credentials: dict[str, str], receivers: dict[str, Receiver]
) -> None:
    response = submit(
        served,
        credentials[PROGRES],
        fixture("adapters.progres", "individual-registration/focal-point-with-children.json"),
        destination=BRANCH,
        message_type="individual-registration",
        purpose="registration",
        legal_basis="public-interest",
    )

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    branch = receivers[BRANCH]
    assert wait_for(lambda: len(branch.received) == 1)
    sent = json.loads(branch.received[0][2])
    individual = sent["individual"]
    assert individual["progres_individualid"] == "KKM-26-004410"
    assert individual["progres_givenname"] == "Ayen"
    # Specific needs and legal status were in the registration; neither rule nor agreement
    # allows them, so neither left.
    assert "progres_specificneeds" not in individual
    assert "progres_legalstatus" not in individual
    assert [m["progres_relationshiptofp"] for m in sent["household"]] == [125080002, 125080002]
    assert sent["progres_registrationdate"] == "2026-11-20"
    status = status_of(served, response.json()["exchange_id"])
    assert status["categories"] == ["family", "identifiers", "identity", "nationality"]


def test_a_primero_case_reaches_progres_as_a_referral(
    served: ServedGateway, credentials: dict[str, str], receivers: dict[str, Receiver]
) -> None:
    response = submit(
        served,
        credentials[PRIMERO],
        fixture("adapters.primero", "referral/unaccompanied-child-case.json"),
        destination=PROGRES,
        message_type="referral",
        purpose="child-protection",
        legal_basis="vital-interests",
    )
    assert response.status_code == 202, response.text
    exchange_id = response.json()["exchange_id"]
    dpo = {"Authorization": f"Bearer {served.runtime.settings.resolved_dpo_token()}"}
    approve = f"{served.url}/dpo/approvals/{exchange_id}/approve"
    assert httpx.post(approve, headers=dpo, timeout=30).status_code == 200

    progres = receivers[PROGRES]
    assert wait_for(lambda: len(progres.received) == 1)
    sent = json.loads(progres.received[0][2])
    assert sent["progres_referralid"] == "a7c31e9"  # the case's own reference
    assert sent["progres_referraltype"] == 125080001  # child protection
    assert sent["progres_urgency"] == 125080002  # risk level high: emergency
    assert sent["progres_referralreasons"] == [125080001, 125080003]
    assert sent["individual"]["progres_individualid"] == "KKM-26-004417"

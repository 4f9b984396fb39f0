"""POST /exchanges answers an error in the source's own shape when its adapter has WireErrors.

A served gateway with two sources: a border office whose adapter (immigration) writes errors
as its XSD's `exchangeError`, and a refugee registration office whose adapter (progres) has no
WireErrors and so keeps the gateway's JSON problem. Destinations are real HTTP stand-ins.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from lxml import etree

from adapters.immigration import ImmigrationAdapter, schema
from adapters.kit.xml import parse_xml
from adapters.opencrvs import OpenCrvsAdapter
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway.config import Settings
from gateway.demo.server import ServedGateway
from gateway.demo.standins import StandIn
from gateway.envelope import to_headers
from gateway.runtime import Runtime
from gateway.systems import SystemSpec

BORDER_OFFICE = "border-office"
AUTHORITY = "immigration-authority"
REGISTRATION = "refugee-registration"
CIVIL_REGISTRY = "civil-registry"
FIXTURES = Path(schema.__file__).parent / "fixtures"
CHECK = (FIXTURES / "document-validity-check" / "refugee-id.xml").read_bytes()
MARKER = "marker-51be0c"
NS = {"im": schema.NAMESPACE}


@dataclass
class Served:
    url: str
    credentials: dict[str, str]  # by system id


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    """A gateway over HTTP, the two sources registered, their destinations real stand-ins."""
    adapters = AdapterRegistry.from_factories(
        {"immigration": ImmigrationAdapter, "progres": ProgresAdapter, "opencrvs": OpenCrvsAdapter}
    )
    runtime = Runtime.build(settings, adapters=adapters)
    standins = [StandIn(AUTHORITY).start(), StandIn(CIVIL_REGISTRY).start()]
    specs = [
        SystemSpec(id=BORDER_OFFICE, name="Border office", adapter="immigration"),
        SystemSpec(id=AUTHORITY, name="Authority", adapter="immigration", endpoint=standins[0].url),
        SystemSpec(id=REGISTRATION, name="Registration", adapter="progres"),
        SystemSpec(id=CIVIL_REGISTRY, name="Civil", adapter="opencrvs", endpoint=standins[1].url),
    ]
    credentials = {spec.id: runtime.systems.register(spec)[1] for spec in specs}
    gateway = ServedGateway(runtime).start()
    yield Served(gateway.url, credentials)
    gateway.stop()
    for standin in standins:
        standin.stop()


def submit(
    gw: Served, source: str, destination: str, message_type: str, body: bytes, media_type: str
) -> httpx.Response:
    envelope = to_headers(
        {
            "destination": destination,
            "message_type": message_type,
            "purpose": "document-issuance",
            "legal_basis": "public-interest",
            "idempotency_key": f"key-{uuid.uuid4()}",
        }
    )
    headers = {
        **envelope,
        "Content-Type": media_type,
        "Authorization": f"Bearer {gw.credentials[source]}",
    }
    return httpx.post(f"{gw.url}/exchanges", content=body, headers=headers, timeout=30)


def exchange_error(answer: httpx.Response) -> etree._Element:
    """Return the answer's `exchangeError`, once it is XML valid against the adapter's XSD."""
    media_type = answer.headers["content-type"].split(";")[0]
    assert media_type == "application/xml", (
        f"a {media_type} answer: the route does not answer in the source's WireErrors shape"
    )
    root = parse_xml(answer.content)
    assert root.tag == schema.tag("exchangeError")
    assert schema.validator().validate(root) == []
    return root


def text(root: etree._Element, path: str) -> list[str]:
    return [str(e.text) for e in root.iterfind(path, NS)]


def test_an_invalid_immigration_message_is_answered_as_an_exchange_error(served: Served) -> None:
    # An unknown document kind, and a number in lower case that repeats a marker.
    body = CHECK.replace(b">RID<", b">XX<")
    body = body.replace(b"<documentNumber>", f"<documentNumber>{MARKER}".encode(), 1)

    answer = submit(
        served, BORDER_OFFICE, AUTHORITY, "document-validity-check", body, "application/xml"
    )

    assert answer.status_code == 422, answer.text
    root = exchange_error(answer)
    assert text(root, "im:reason") == ["invalid_message"]
    assert text(root, "im:status") == ["422"]
    assert text(root, "im:exchangeId") == [answer.headers["X-Exchange-Id"]]  # recorded
    assert set(text(root, "im:problems/im:problem/im:location")) == {
        "/documentValidityCheck/documentKind",
        "/documentValidityCheck/documentNumber",
    }
    assert MARKER.encode() not in answer.content  # problems name elements, never values


def test_a_denied_immigration_message_lists_the_policys_reasons(served: Served) -> None:
    answer = submit(
        served, BORDER_OFFICE, AUTHORITY, "document-validity-check", CHECK, "application/xml"
    )

    assert answer.status_code == 403, answer.text  # no rule allows the border office anything
    root = exchange_error(answer)
    assert text(root, "im:reason") == ["denied"]
    assert text(root, "im:reasons/im:reason")
    assert text(root, "im:exchangeId") == [answer.headers["X-Exchange-Id"]]


def test_a_progres_source_still_gets_the_json_problem(served: Served) -> None:
    answer = submit(
        served, REGISTRATION, CIVIL_REGISTRY, "birth-notification", b'{"broken', "application/json"
    )

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].split(";")[0] == "application/json"
    problem = answer.json()
    assert problem["reason"] == "invalid_message"
    assert problem["exchange_id"] == answer.headers["X-Exchange-Id"]
    assert problem["problems"] and problem["problem_count"] >= 1

"""The SOAP endpoint over HTTP: zeep drives the published WSDL; faults; the same road."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import requests
from lxml import etree
from sqlalchemy import select
from zeep import Client, Settings
from zeep.transports import Transport

from gateway.demo.flow import wait_for
from gateway.store.models import ExchangeRecord
from gateway.xroad.envelope import GATEWAY, SOAP_ENV, XROAD
from tests.fixtures.exchanges import queued, recorded
from tests.xroad.support import (
    AGREEMENT_ID,
    BASIS,
    DESTINATION,
    PURPOSE,
    SOURCE,
    XRoadGateway,
    envelope,
    fixture,
    post,
)

IMMIGRATION = "urn:exchange-hub:immigration:1"
OPERATIONS = {
    "document-request": "documentRequest",
    "document-status": "documentStatus",
    "document-validity-check": "documentValidityCheck",
    "document-validity-answer": "documentValidityAnswer",
}


def zeep_client(gw: XRoadGateway) -> Client:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {gw.credential}"
    return Client(
        f"{gw.url}/xroad/wsdl",
        transport=Transport(session=session, timeout=30, operation_timeout=30),
        settings=Settings(strict=True),
    )


def x_road_headers(operation: str) -> dict[str, Any]:
    member = {"xRoadInstance": "KE", "memberClass": "GOV"}
    return {
        "client": {
            "objectType": "SUBSYSTEM",
            **member,
            "memberCode": "7001",
            "subsystemCode": SOURCE,
        },
        "service": {
            "objectType": "SERVICE",
            **member,
            "memberCode": "7002",
            "subsystemCode": DESTINATION,
            "serviceCode": operation,
            "serviceVersion": "v1",
        },
        "id": f"msg-{uuid.uuid4()}",
        "userId": "KE:officer-17",
        "issue": "case-2026-44",
        "protocolVersion": "4.0",
        "exchange": {"purpose": PURPOSE, "legalBasis": BASIS, "agreement": AGREEMENT_ID},
    }


def fault_of(answer: httpx.Response) -> tuple[str, str, list[str], etree._Element]:
    """Return a fault's code, reason code and problem locations, and its detail."""
    root = etree.fromstring(answer.content)
    detail = root.find(f".//{{{GATEWAY}}}error")
    locations = [p.findtext(f"{{{GATEWAY}}}location") for p in detail.iter(f"{{{GATEWAY}}}problem")]
    return root.findtext(".//faultcode"), detail.findtext(f"{{{GATEWAY}}}reason"), locations, detail


def records(gw: XRoadGateway) -> list[ExchangeRecord]:
    with gw.runtime.db.reading() as session:
        return list(session.scalars(select(ExchangeRecord).order_by(ExchangeRecord.seq)))


def test_zeep_calls_each_operation_of_the_published_wsdl(gateway: XRoadGateway) -> None:
    client = zeep_client(gateway)

    for operation, element_name in OPERATIONS.items():
        element = client.get_element(f"{{{IMMIGRATION}}}{element_name}")
        value = element.parse(etree.fromstring(fixture(operation)), client.wsdl.types)
        arguments = {name: value[name] for name in value}
        sent = x_road_headers(operation)
        answer = client.service[operation](**arguments, _soapheaders=sent)

        assert answer.body.status == "queued", operation
        assert answer.body.replay is False
        assert uuid.UUID(answer.body.exchangeId)
        assert answer.header.id == sent["id"]  # the X-Road headers come back as sent
        assert answer.header.service.serviceCode == operation

    assert wait_for(lambda: len(gateway.authority.received) == len(OPERATIONS))
    assert [r.decision for r in records(gateway)] == ["allowed"] * len(OPERATIONS)


def test_a_document_request_is_delivered_to_the_authority(gateway: XRoadGateway) -> None:
    answer = post(gateway, envelope(fixture("document-request"), message_id="msg-delivery-001"))

    assert answer.status_code == 200, answer.text
    root = etree.fromstring(answer.content)
    assert root.findtext(f"{{{SOAP_ENV}}}Header/{{{XROAD}}}id") == "msg-delivery-001"
    exchange_id = root.findtext(f".//{{{GATEWAY}}}exchangeId")
    assert answer.headers["X-Exchange-Id"] == exchange_id
    assert wait_for(lambda: len(gateway.authority.received) == 1)
    delivered = gateway.authority.received[0]
    assert delivered.headers["Idempotency-Key"] == exchange_id
    assert etree.fromstring(delivered.body).tag == f"{{{IMMIGRATION}}}documentRequest"
    status = httpx.get(
        f"{gateway.url}/exchanges/{exchange_id}",
        headers={"Authorization": f"Bearer {gateway.credential}"},
    ).json()
    assert (status["message_type"], status["destination"]) == ("document-request", DESTINATION)
    assert wait_for(
        lambda: (
            httpx.get(
                f"{gateway.url}/exchanges/{exchange_id}",
                headers={"Authorization": f"Bearer {gateway.credential}"},
            ).json()["delivery"]["status"]
            == "delivered"
        )
    )


def test_the_same_message_id_is_a_replay_of_the_first_exchange(gateway: XRoadGateway) -> None:
    body = envelope(fixture("document-validity-check"), service="document-validity-check")

    first, again = post(gateway, body), post(gateway, body)

    ids = [
        etree.fromstring(a.content).findtext(f".//{{{GATEWAY}}}exchangeId") for a in (first, again)
    ]
    assert ids[0] == ids[1]
    assert etree.fromstring(again.content).findtext(f".//{{{GATEWAY}}}replay") == "true"
    assert len(records(gateway)) == 1


BAD_HEADERS: list[tuple[dict[str, Any], str]] = [
    ({"omit": ("client",)}, "/Envelope/Header/client"),
    ({"omit": ("exchange",)}, "/Envelope/Header/exchange"),
    ({"version": "3.1"}, "/Envelope/Header/protocolVersion"),
    ({"purpose": "Not A Name"}, "/Envelope/Header/exchange/purpose"),
    ({"message_id": "short"}, "/Envelope/Header/id"),
]


def test_a_bad_header_is_a_client_fault_naming_it_and_is_recorded(gateway: XRoadGateway) -> None:
    for change, location in BAD_HEADERS:
        answer = post(gateway, envelope(fixture("document-request"), **change))

        assert answer.status_code == 422, location
        assert answer.headers["content-type"].startswith("text/xml")
        code, reason, locations, detail = fault_of(answer)
        assert (code, reason, locations) == ("SOAP-ENV:Client", "invalid_envelope", [location])
        record = records(gateway)[-1]
        recorded = detail.findtext(f"{{{GATEWAY}}}exchangeId")
        assert (record.id, record.decision) == (recorded, "invalid")
    assert len(records(gateway)) == len(BAD_HEADERS)
    assert queued(gateway.runtime) == {}
    assert gateway.authority.hits == 0


def test_an_invalid_message_names_its_elements(gateway: XRoadGateway) -> None:
    body = fixture("document-request").replace("<documentKind>RID<", "<documentKind>XXX<")

    answer = post(gateway, envelope(body))

    code, reason, locations, _ = fault_of(answer)
    assert (answer.status_code, code, reason) == (422, "SOAP-ENV:Client", "invalid_message")
    assert locations == ["/documentRequest/documentKind"]
    assert "XXX" not in answer.text


def test_a_stranger_gets_a_401_fault_and_its_body_is_not_read(gateway: XRoadGateway) -> None:
    answer = post(gateway, b"<not-even-xml", credential="gw_wrong")

    code, reason, _, _ = fault_of(answer)
    assert (answer.status_code, code, reason) == (401, "SOAP-ENV:Client", "unauthenticated")
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert [r.decision for r in records(gateway)] == ["invalid"]


def test_the_client_must_be_the_calling_system(gateway: XRoadGateway) -> None:
    answer = post(
        gateway, envelope(fixture("document-request")), credential=gateway.other_credential
    )

    code, reason, _, _ = fault_of(answer)
    assert (answer.status_code, code, reason) == (403, "SOAP-ENV:Client", "forbidden")
    assert list(recorded(gateway.runtime).values()) == ["invalid"]
    assert queued(gateway.runtime) == {}  # committed before the answer, as a queued one would be
    assert gateway.authority.hits == 0


def test_a_body_that_is_not_text_xml_is_refused(gateway: XRoadGateway) -> None:
    answer = httpx.post(
        f"{gateway.url}/xroad/soap",
        content=envelope(fixture("document-request")),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {gateway.credential}",
        },
    )

    _, reason, locations, _ = fault_of(answer)
    assert (answer.status_code, reason, locations) == (
        415,
        "unsupported_media_type",
        ["Content-Type"],
    )


def test_a_denial_is_a_fault_with_the_policy_reasons(gateway: XRoadGateway) -> None:
    answer = post(gateway, envelope(fixture("document-request"), purpose="marketing"))

    code, reason, _, detail = fault_of(answer)
    assert (answer.status_code, code, reason) == (403, "SOAP-ENV:Client", "denied")
    assert detail.findtext(f"{{{GATEWAY}}}policyReason")
    exchange_id = detail.findtext(f"{{{GATEWAY}}}exchangeId")
    assert recorded(gateway.runtime) == {exchange_id: "denied"}
    assert queued(gateway.runtime) == {}  # committed before the answer, as a queued one would be
    assert gateway.authority.hits == 0


def test_the_wsdl_names_one_operation_per_message_type_and_serves_its_schemas(
    gateway: XRoadGateway,
) -> None:
    wsdl = etree.fromstring(httpx.get(f"{gateway.url}/xroad/wsdl").content)

    ns = {"w": "http://schemas.xmlsoap.org/wsdl/", "xs": "http://www.w3.org/2001/XMLSchema"}
    assert sorted(wsdl.xpath("w:portType/w:operation/@name", namespaces=ns)) == sorted(OPERATIONS)
    locations = wsdl.xpath("w:types/xs:schema/xs:import/@schemaLocation", namespaces=ns)
    assert locations, "the WSDL imports no schema"
    for location in locations:
        assert location.startswith(gateway.url)
        assert httpx.get(location).status_code == 200
    for path in ("xroad/nothing.xsd", "xroad/SOURCES.md", "nobody/x.xsd", "xroad/..%2Fenvelope.py"):
        assert httpx.get(f"{gateway.url}/xroad/schemas/{path}").status_code == 404


def test_an_invalid_message_written_with_a_prefix_names_its_elements(
    gateway: XRoadGateway,
) -> None:
    body = (
        fixture("document-validity-check")
        .replace('xmlns="urn', 'xmlns:im="urn')
        .replace("<", "<im:")
        .replace("<im:/", "</im:")
        .replace(">RID<", ">XXX<")
    )

    answer = post(gateway, envelope(body, service="document-validity-check"))

    _, reason, locations, _ = fault_of(answer)
    assert (answer.status_code, reason) == (422, "invalid_message")
    assert locations == ["/documentValidityCheck/documentKind"]

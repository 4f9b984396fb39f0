"""The X-Road SOAP envelope: read, checked against the published schemas, answered, faulted."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import (
    MAX_PROBLEMS,
    EnvelopeError,
    GatewayError,
    ParseError,
    PolicyDeniedError,
    Problem,
)
from gateway.xroad.envelope import (
    GATEWAY,
    SOAP_ENV,
    XROAD,
    MustUnderstandError,
    accepted,
    read_request,
    write_response,
)
from gateway.xroad.faults import render_fault
from tests.xroad.support import DESTINATION, SOURCE, envelope

FIXTURES = Path("/work/shared/fixtures/xroad")
LIMIT = 1_048_576
BODY = '<m:documentValidityCheck xmlns:m="urn:example:m"><m:n>1</m:n></m:documentValidityCheck>'


def read(body: bytes) -> object:
    return read_request(body, max_bytes=LIMIT)


def locations(error: GatewayError) -> list[str]:
    return [p.location for p in error.problems]


def test_published_x_road_headers_pass_the_published_schemas() -> None:
    # X-Road's own test query: every header is valid; only the gateway's own is missing.
    query = (FIXTURES / "xroad_getstate-subsystem.query.xml").read_bytes()

    with pytest.raises(EnvelopeError) as raised:
        read(query)

    assert locations(raised.value) == ["/Envelope/Header/exchange"]


def test_a_request_becomes_the_envelope_post_exchanges_reads() -> None:
    request = read_request(envelope(BODY, message_id="msg-0001-abc"), max_bytes=LIMIT)

    assert request.client.as_rest() == f"KE/GOV/70000001/{SOURCE}"
    assert request.envelope_headers() == {
        "X-Exchange-Source": SOURCE,
        "X-Exchange-Destination": DESTINATION,
        "X-Exchange-Message-Type": "document-request",
        "Idempotency-Key": "msg-0001-abc",
        "X-Exchange-Purpose": "document-issuance",
        "X-Exchange-Legal-Basis": "public-interest",
        "X-Exchange-Agreement": "identity-documents",
        "Content-Type": "application/xml",
    }
    body = etree.fromstring(request.body)
    assert body.tag == "{urn:example:m}documentValidityCheck"
    assert (request.user_id, request.issue) == ("KE:officer-17", "case-2026-44")


@pytest.mark.parametrize("header", ["client", "service", "id", "protocolVersion", "exchange"])
def test_a_missing_header_is_named(header: str) -> None:
    with pytest.raises(EnvelopeError) as raised:
        read(envelope(BODY, omit=(header,)))

    assert locations(raised.value) == [f"/Envelope/Header/{header}"]
    assert "missing" in raised.value.problems[0].message


def test_a_header_in_the_wrong_namespace_is_missing_from_the_right_one() -> None:
    body = envelope(BODY).replace(
        b'xmlns:xroad="http://x-road.eu/xsd/xroad.xsd"', b'xmlns:xroad="urn:x"'
    )

    with pytest.raises(EnvelopeError) as raised:
        read(body)

    assert set(locations(raised.value)) == {
        "/Envelope/Header/client",
        "/Envelope/Header/service",
        "/Envelope/Header/id",
        "/Envelope/Header/protocolVersion",
    }
    assert XROAD in raised.value.problems[0].message


def test_every_header_problem_is_listed_by_element_never_by_value() -> None:
    body = (
        envelope(BODY, version="SECRET-3.1")
        .replace(
            b"<id:memberClass>GOV</id:memberClass>\n      <id:memberCode>70000001",
            b"<id:memberCode>70000001",
            1,
        )
        .replace(b'objectType="SERVICE"', b'objectType="MEMBER"')
    )

    with pytest.raises(EnvelopeError) as raised:
        read(body)

    assert locations(raised.value) == [
        "/Envelope/Header/client/memberCode",
        "/Envelope/Header/protocolVersion",
        "/Envelope/Header/service/@objectType",
    ]
    assert "SECRET" not in repr(raised.value.problems) + raised.value.message


def test_a_client_that_is_a_member_names_no_source() -> None:
    body = envelope(BODY).replace(b'objectType="SUBSYSTEM"', b'objectType="MEMBER"', 1)

    with pytest.raises(EnvelopeError) as raised:
        read(body)

    assert locations(raised.value) == ["/Envelope/Header/client/@objectType"]


def test_a_header_given_twice_is_refused() -> None:
    with pytest.raises(EnvelopeError) as raised:
        read(envelope(BODY, extra="<xroad:id>msg-other-1</xroad:id>"))

    assert locations(raised.value) == ["/Envelope/Header/id"]
    assert raised.value.problems[0].message == "appears more than once"


def test_a_header_that_must_be_understood_and_is_not_is_a_must_understand_fault() -> None:
    extra = '<x:secret xmlns:x="urn:x" SOAP-ENV:mustUnderstand="1">1</x:secret>'
    ignorable = '<x:note xmlns:x="urn:x">1</x:note>'

    with pytest.raises(MustUnderstandError) as raised:
        read(envelope(BODY, extra=extra))
    read(envelope(BODY, extra=ignorable))

    assert locations(raised.value) == ["/Envelope/Header/secret"]
    assert b"SOAP-ENV:MustUnderstand" in render_fault(raised.value)


@pytest.mark.parametrize("body", ["", BODY + BODY])
def test_the_body_holds_exactly_one_element(body: str) -> None:
    with pytest.raises(ParseError) as raised:
        read(envelope(body))

    assert locations(raised.value) == ["/Envelope/Body"]


def test_a_soap_1_2_envelope_is_not_read() -> None:
    body = envelope(BODY).replace(SOAP_ENV.encode(), b"http://www.w3.org/2003/05/soap-envelope")

    with pytest.raises(ParseError) as raised:
        read(body)

    assert locations(raised.value) == ["/Envelope"]


@pytest.mark.parametrize(
    "hostile",
    [
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x "y">]><e>&x;</e>',
        b'<!DOCTYPE e SYSTEM "file:///etc/passwd"><e/>',
        b"<e>" * 10_000 + b"</e>" * 10_000,
        b'<e xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></e>',
        b"<e><unclosed></e>",
    ],
    ids=["entity", "external-dtd", "deep", "xinclude", "malformed"],
)
def test_hostile_xml_is_refused_before_any_header_is_read(hostile: bytes) -> None:
    with pytest.raises(ParseError) as raised:
        read(hostile)

    assert raised.value.problems[0].location == "/Envelope"


def test_the_answer_echoes_the_x_road_headers() -> None:
    request = read_request(envelope(BODY, message_id="msg-0002-abc"), max_bytes=LIMIT)

    answer = write_response(request, accepted("ex-1", "queued", False, ["identity"]))

    root = etree.fromstring(answer)
    header = root.find(f"{{{SOAP_ENV}}}Header")
    assert [etree.QName(e).localname for e in header] == [
        "client",
        "service",
        "userId",
        "id",
        "issue",
        "protocolVersion",
    ]
    assert header.findtext(f"{{{XROAD}}}id") == "msg-0002-abc"
    ack = root.find(f"{{{SOAP_ENV}}}Body/{{{GATEWAY}}}accepted")
    assert ack.findtext(f"{{{GATEWAY}}}exchangeId") == "ex-1"


def test_a_fault_keeps_the_reason_and_bounds_the_problems() -> None:
    many = (Problem(f"/doc/item[{i}]", "is not valid") for i in range(1_000_000))
    error = ParseError("the message is invalid", many)
    error.exchange_id = "ex-9"

    fault = etree.fromstring(render_fault(error))

    detail = fault.find(f".//{{{GATEWAY}}}error")
    assert fault.findtext(".//faultcode") == "SOAP-ENV:Client"
    assert detail.findtext(f"{{{GATEWAY}}}reason") == "invalid_message"
    assert detail.findtext(f"{{{GATEWAY}}}status") == "422"
    assert detail.findtext(f"{{{GATEWAY}}}exchangeId") == "ex-9"
    assert len(detail.findall(f"{{{GATEWAY}}}problem")) == MAX_PROBLEMS
    assert detail.findtext(f"{{{GATEWAY}}}problemCountIsLowerBound") == "true"


def test_a_denial_keeps_its_policy_reasons_and_a_bug_is_the_servers_fault() -> None:
    denied = PolicyDeniedError("the exchange is not allowed", reasons=["origin.risk_country"])

    fault = etree.fromstring(render_fault(denied))

    assert fault.findtext(".//faultcode") == "SOAP-ENV:Client"
    assert fault.findtext(f".//{{{GATEWAY}}}policyReason") == "origin.risk_country"
    server = etree.fromstring(render_fault(GatewayError("broken")))
    assert server.findtext(".//faultcode") == "SOAP-ENV:Server"


def test_a_represented_party_is_checked_and_echoed() -> None:
    represented = (
        '<repr:representedParty xmlns:repr="http://x-road.eu/xsd/representation.xsd">'
        "<repr:partyClass>COM</repr:partyClass>{code}</repr:representedParty>"
    )
    good = represented.format(code="<repr:partyCode>MEMBER3</repr:partyCode>")

    request = read_request(envelope(BODY, extra=good), max_bytes=LIMIT)
    with pytest.raises(EnvelopeError) as raised:
        read(envelope(BODY, extra=represented.format(code="")))

    assert etree.QName(request.echoed[-1]).localname == "representedParty"
    assert locations(raised.value) == ["/Envelope/Header/representedParty"]
    assert "partyCode" in raised.value.problems[0].message


def test_a_flood_of_headers_gives_a_bounded_answer() -> None:
    flood = '<x:h xmlns:x="urn:x" SOAP-ENV:mustUnderstand="1"/>' * 12_000
    repeated = "<xroad:id>msg-12345678</xroad:id>" * 5_000

    with pytest.raises(EnvelopeError) as raised:
        read(envelope(BODY, extra=repeated + flood))

    assert len(raised.value.problems) == MAX_PROBLEMS
    assert not raised.value.problem_count_exact
    assert locations(raised.value)[0] == "/Envelope/Header/id"

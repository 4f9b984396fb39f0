"""Read an X-Road message protocol 4.0 SOAP request; write its answer with the headers echoed.

A request is a SOAP 1.1 envelope whose header carries X-Road's `client`, `service`, `id` and
`protocolVersion` (required), `userId`, `issue` and `representedParty` (optional), and the
gateway's own `exchange` header (purpose, legal basis, agreement, best-interests reference),
and whose body holds exactly one element: the source system's native message. Each header is
checked against the published X-Road schemas (schemas/, SOURCES.md); every problem found is
listed, each naming its element, never echoing a value. The answer echoes the X-Road headers,
as the protocol requires.

How the X-Road names become the exchange envelope: the client's subsystem code is the source
system (it must be the authenticated caller), the service's subsystem code the destination,
its service code the message type, and the message `id` the idempotency key.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.kit.xml import XsdValidator, parse_xml
from gateway.envelope import HEADERS, SOURCE_HEADER
from gateway.errors import EnvelopeError, ParseError, Problem, first_problems

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XROAD = "http://x-road.eu/xsd/xroad.xsd"
IDENTIFIERS = "http://x-road.eu/xsd/identifiers"
REPRESENTATION = "http://x-road.eu/xsd/representation.xsd"
GATEWAY = "urn:exchange-gateway:xroad:1"
PROTOCOL_VERSION = "4.0"
SCHEMAS = Path(__file__).parent / "schemas"
BODY_MEDIA_TYPE = "application/xml"
"""What the body's element is handed to the source adapter as (serialised in UTF-8)."""

HEADER = "/Envelope/Header"
REQUIRED = ("client", "service", "id", "protocolVersion")
OPTIONAL = ("userId", "issue")
_REPRESENTED = f"{{{REPRESENTATION}}}representedParty"
_ECHOED = frozenset({f"{{{XROAD}}}{name}" for name in (*REQUIRED, *OPTIONAL)} | {_REPRESENTED})
_EXCHANGE = f"{{{GATEWAY}}}exchange"
_EXCHANGE_FIELDS = {
    "purpose": "purpose",
    "legalBasis": "legal_basis",
    "agreement": "agreement",
    "bestInterests": "best_interests",
}
_OBJECT_TYPE = f"{{{IDENTIFIERS}}}objectType"
_ATTRIBUTE_NAMESPACE = re.compile(r"@\{[^}]*\}")
_MUST_UNDERSTAND = f"{{{SOAP_ENV}}}mustUnderstand"

# Where each envelope field is read from, to name it in a fault instead of an HTTP header.
LOCATIONS = {
    SOURCE_HEADER: f"{HEADER}/client/subsystemCode",
    HEADERS["destination"]: f"{HEADER}/service/subsystemCode",
    HEADERS["message_type"]: f"{HEADER}/service/serviceCode",
    HEADERS["idempotency_key"]: f"{HEADER}/id",
    **{HEADERS[field]: f"{HEADER}/exchange/{name}" for name, field in _EXCHANGE_FIELDS.items()},
}


class MustUnderstandError(EnvelopeError):
    """A header marked mustUnderstand="1" that the gateway does not understand (SOAP 1.1 4.2.3)."""


@dataclass(frozen=True)
class XRoadId:
    """An X-Road identifier: a client (member or subsystem) or a service."""

    object_type: str
    instance: str
    member_class: str
    member_code: str
    subsystem: str | None = None
    service_code: str | None = None
    service_version: str | None = None

    def as_rest(self) -> str:
        """Write it as the REST protocol does: INSTANCE/CLASS/MEMBER[/SUBSYSTEM]."""
        parts = (self.instance, self.member_class, self.member_code, self.subsystem)
        return "/".join(part for part in parts if part is not None)


@dataclass(frozen=True)
class SoapRequest:
    """An X-Road request as read: who calls which service, about what, and the native body."""

    client: XRoadId
    service: XRoadId
    message_id: str
    user_id: str | None
    issue: str | None
    exchange: Mapping[str, str]  # envelope field -> value: purpose, legal_basis, ...
    echoed: tuple[Any, ...]  # the X-Road header elements, to send back as they came
    body: bytes  # the body's one element, serialised alone in UTF-8

    def envelope_headers(self) -> dict[str, str]:
        """Write the exchange envelope as the headers POST /exchanges reads, for the same road."""
        fields = {
            "destination": self.service.subsystem,
            "message_type": self.service.service_code,
            "idempotency_key": self.message_id,
            **self.exchange,
        }
        headers = {HEADERS[name]: value for name, value in fields.items() if value is not None}
        if self.client.subsystem is not None:
            headers[SOURCE_HEADER] = self.client.subsystem
        headers["Content-Type"] = BODY_MEDIA_TYPE
        return headers


@cache
def validator() -> XsdValidator:
    """Return the compiled X-Road and gateway header schema (built once, from local files)."""
    return XsdValidator(SCHEMAS, "gateway.xsd")


def read_request(body: bytes, *, max_bytes: int) -> SoapRequest:
    """Read a SOAP request; raise ParseError or EnvelopeError listing every problem found."""
    root = parse_xml(body, where="/Envelope", max_bytes=max_bytes)
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise ParseError(
            "the message is not a SOAP 1.1 envelope",
            [Problem("/Envelope", f"the root must be Envelope in the namespace {SOAP_ENV}")],
        )
    header, message = _parts(root)
    headers, problems = _headers(header)
    not_understood = first_problems(_must_understand(header))
    problems.extend(not_understood)
    client = _identifier(headers["client"]) if "client" in headers else None
    service = _identifier(headers["service"]) if "service" in headers else None
    problems.extend(_addressing(client, service))
    if problems:
        only = len(not_understood) == len(problems)  # nothing else is wrong
        error = MustUnderstandError if only else EnvelopeError
        raise error("the X-Road headers are invalid", problems)
    assert client is not None and service is not None
    return SoapRequest(
        client=client,
        service=service,
        message_id=_text(headers["id"]),
        user_id=_text(headers["userId"]) if "userId" in headers else None,
        issue=_text(headers["issue"]) if "issue" in headers else None,
        exchange=_exchange(headers["exchange"]),
        echoed=tuple(e for e in header if e.tag in _ECHOED),
        body=etree.tostring(message, encoding="UTF-8", xml_declaration=False),
    )


def _addressing(client: XRoadId | None, service: XRoadId | None) -> Iterator[Problem]:
    """Check what the schema leaves open: a subsystem calls a subsystem's service.

    Why: the client's subsystem code names the source system and the service's the
    destination; a bare member names neither. (libxml2 does not enforce the schema's
    fixed="SERVICE" on a restricted attribute, so the object types are checked here too.)
    """
    if client is not None:
        if client.object_type != "SUBSYSTEM":
            yield Problem(f"{HEADER}/client/@objectType", "must be SUBSYSTEM")
        elif not client.subsystem:
            yield Problem(f"{HEADER}/client/subsystemCode", "is missing: it names the source")
    if service is not None:
        if service.object_type != "SERVICE":
            yield Problem(f"{HEADER}/service/@objectType", "must be SERVICE")
        if not service.subsystem:
            yield Problem(f"{HEADER}/service/subsystemCode", "is missing: it names the destination")


def _parts(root: Any) -> tuple[Any, Any]:
    """Return the Header and the body's one element, or raise naming what is missing."""
    children = [c for c in root if isinstance(c.tag, str)]
    header = next((c for c in children if c.tag == f"{{{SOAP_ENV}}}Header"), None)
    body = next((c for c in children if c.tag == f"{{{SOAP_ENV}}}Body"), None)
    problems = []
    if header is None:
        problems.append(Problem(HEADER, "the X-Road headers are missing (no SOAP Header)"))
    if body is None:
        problems.append(Problem("/Envelope/Body", "the SOAP Body is missing"))
    elements = [] if body is None else [c for c in body if isinstance(c.tag, str)]
    if body is not None and len(elements) != 1:
        problems.append(Problem("/Envelope/Body", "the Body must hold exactly one element"))
    if problems:
        raise ParseError("the SOAP envelope is incomplete", problems)
    return header, elements[0]


def _headers(header: Any) -> tuple[dict[str, Any], list[Problem]]:
    """Find each X-Road and gateway header once, and check it against its schema."""
    found: dict[str, Any] = {}
    repeated: set[str] = set()
    problems: list[Problem] = []
    wanted = {f"{{{XROAD}}}{n}": n for n in (*REQUIRED, *OPTIONAL)} | {
        _EXCHANGE: "exchange",
        _REPRESENTED: "representedParty",
    }
    for element in header:
        name = wanted.get(element.tag)
        if name is None:
            continue
        if name in found:
            if name not in repeated:  # named once, however often it comes
                problems.append(Problem(f"{HEADER}/{name}", "appears more than once"))
                repeated.add(name)
            continue
        found[name] = element
        problems.extend(_checked(element, name))
    for name in (*REQUIRED, "exchange"):
        if name not in found:
            namespace = GATEWAY if name == "exchange" else XROAD
            problems.append(Problem(f"{HEADER}/{name}", f"is missing (namespace {namespace})"))
    version = found.get("protocolVersion")
    if version is not None and _text(version) != PROTOCOL_VERSION:
        where = f"{HEADER}/protocolVersion"
        problems.append(Problem(where, f"must be {PROTOCOL_VERSION}"))
    return found, problems


def _checked(element: Any, name: str) -> Iterator[Problem]:
    """Validate one header against the schema; locate each problem under the Header."""
    # A copy: the validator reads a header as a document of its own, paths from its root.
    for problem in validator().validate(copy.deepcopy(element)):
        # The validator's path starts at the header itself: "/client/memberCode".
        location = _ATTRIBUTE_NAMESPACE.sub("@", problem.location)
        yield Problem(HEADER + location, problem.message)
    if name != "exchange" and len(element) == 0 and len(_text(element)) > 1024:
        yield Problem(f"{HEADER}/{name}", "is longer than 1024 characters")


def _must_understand(header: Any) -> Iterator[Problem]:
    """Refuse a header the gateway must understand and does not (SOAP 1.1 section 4.2.3)."""
    understood = _ECHOED | {_EXCHANGE}
    for element in header:
        if not isinstance(element.tag, str) or element.tag in understood:
            continue
        if element.get(_MUST_UNDERSTAND, "0").strip() in ("1", "true"):
            local = etree.QName(element).localname
            yield Problem(f"{HEADER}/{local}", "is marked mustUnderstand and is not understood")


def _text(element: Any) -> str:
    return str(element.text or "").strip()


def _identifier(element: Any) -> XRoadId:
    def code(name: str) -> str | None:
        child = element.find(f"{{{IDENTIFIERS}}}{name}")
        return None if child is None else _text(child)

    return XRoadId(
        object_type=str(element.get(_OBJECT_TYPE, "")),
        instance=code("xRoadInstance") or "",
        member_class=code("memberClass") or "",
        member_code=code("memberCode") or "",
        subsystem=code("subsystemCode"),
        service_code=code("serviceCode"),
        service_version=code("serviceVersion"),
    )


def _exchange(element: Any) -> dict[str, str]:
    fields = {}
    for child in element:
        name = _EXCHANGE_FIELDS.get(etree.QName(child).localname)
        if name is not None:
            fields[name] = _text(child)
    return fields


def write_response(request: SoapRequest, answer: Any) -> bytes:
    """Write a SOAP response: the request's X-Road headers echoed, `answer` as the body."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=_NSMAP)
    header = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    for element in request.echoed:
        header.append(copy.deepcopy(element))
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(answer)
    return bytes(etree.tostring(envelope, encoding="UTF-8", xml_declaration=True))


_NSMAP = {"SOAP-ENV": SOAP_ENV, "xroad": XROAD, "id": IDENTIFIERS, "gw": GATEWAY}


def accepted(exchange_id: str, status: str, replay: bool, categories: list[str]) -> Any:
    """Build the acknowledgement element: the exchange is recorded and queued (or held)."""
    element = etree.Element(f"{{{GATEWAY}}}accepted", nsmap={"gw": GATEWAY})
    etree.SubElement(element, f"{{{GATEWAY}}}exchangeId").text = exchange_id
    etree.SubElement(element, f"{{{GATEWAY}}}status").text = status
    etree.SubElement(element, f"{{{GATEWAY}}}replay").text = "true" if replay else "false"
    for category in categories:
        etree.SubElement(element, f"{{{GATEWAY}}}category").text = category
    return element

"""X-Road SOAP requests written by hand, as a client on the other side would send them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from lxml import etree

from gateway.demo.standins import StandIn
from gateway.runtime import Runtime

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOURCE = "border-office"
DESTINATION = "immigration-authority"
PURPOSE = "document-issuance"
BASIS = "public-interest"
AGREEMENT_ID = "identity-documents"
SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}
FIXTURES = Path(__file__).resolve().parents[2] / "adapters" / "immigration" / "fixtures"


@dataclass
class XRoadGateway:
    """A served gateway, the authority's stand-in, and the border office's credential."""

    runtime: Runtime
    url: str
    authority: StandIn
    credential: str
    other_credential: str  # the authority's own: a system that is not the border office


def fixture(message_type: str) -> str:
    """Return the immigration adapter's first valid sample of this type, without its prolog.

    The adapter's own samples (the conformance kit's `fixtures/<message-type>/*.xml`), so they
    follow its schema as it changes.
    """
    path = sorted((FIXTURES / message_type).glob("*.xml"))[0]
    return etree.tostring(etree.fromstring(path.read_bytes()), encoding="unicode")


def post(gw: XRoadGateway, body: bytes, credential: str | None = None) -> httpx.Response:
    """POST a SOAP request as the border office (or as the holder of `credential`)."""
    auth = {"Authorization": f"Bearer {credential or gw.credential}"}
    return httpx.post(f"{gw.url}/xroad/soap", content=body, headers={**SOAP_HEADERS, **auth})


_HEADERS = {
    "client": """<xroad:client id:objectType="SUBSYSTEM">
      <id:xRoadInstance>KE</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
      <id:memberCode>70000001</id:memberCode><id:subsystemCode>{client}</id:subsystemCode>
    </xroad:client>""",
    "service": """<xroad:service id:objectType="SERVICE">
      <id:xRoadInstance>KE</id:xRoadInstance><id:memberClass>GOV</id:memberClass>
      <id:memberCode>70000002</id:memberCode><id:subsystemCode>{destination}</id:subsystemCode>
      <id:serviceCode>{service}</id:serviceCode><id:serviceVersion>v1</id:serviceVersion>
    </xroad:service>""",
    "userId": "<xroad:userId>KE:officer-17</xroad:userId>",
    "id": "<xroad:id>{message_id}</xroad:id>",
    "issue": "<xroad:issue>case-2026-44</xroad:issue>",
    "protocolVersion": "<xroad:protocolVersion>{version}</xroad:protocolVersion>",
    "exchange": """<gw:exchange><gw:purpose>{purpose}</gw:purpose>
      <gw:legalBasis>{basis}</gw:legalBasis>
      <gw:agreement>{agreement}</gw:agreement></gw:exchange>""",
}


def envelope(
    body: str,
    *,
    client: str = SOURCE,
    destination: str = DESTINATION,
    service: str = "document-request",
    message_id: str | None = None,
    version: str = "4.0",
    purpose: str = PURPOSE,
    basis: str = BASIS,
    agreement: str = AGREEMENT_ID,
    omit: tuple[str, ...] = (),
    extra: str = "",
) -> bytes:
    """Write a SOAP 1.1 request with the X-Road headers (less those omitted) around `body`."""
    values = {
        "client": client,
        "destination": destination,
        "service": service,
        "message_id": message_id or f"msg-{uuid.uuid4()}",
        "version": version,
        "purpose": purpose,
        "basis": basis,
        "agreement": agreement,
    }
    headers = "\n".join(h.format(**values) for name, h in _HEADERS.items() if name not in omit)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}"
    xmlns:xroad="http://x-road.eu/xsd/xroad.xsd"
    xmlns:id="http://x-road.eu/xsd/identifiers"
    xmlns:gw="urn:exchange-gateway:xroad:1">
  <SOAP-ENV:Header>{headers}{extra}</SOAP-ENV:Header>
  <SOAP-ENV:Body>{body}</SOAP-ENV:Body>
</SOAP-ENV:Envelope>""".encode()

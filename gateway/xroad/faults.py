"""Write a GatewayError as a SOAP 1.1 fault, with the gateway's reason code in its detail.

faultcode is `Client` when the caller must change the request (a 4xx), `Server` otherwise,
and `MustUnderstand` for a header marked so that the gateway does not understand. The detail
holds the reason code, the HTTP status the answer carries, the exchange id of the recorded
attempt, the policy's reasons and the problems, at most MAX_PROBLEMS, each naming an element.

Why the answer keeps the error's own HTTP status (401, 403, 422...) rather than SOAP 1.1's
500: a refused input is a 4xx on every route of the gateway, the throttle counts failed
authentications by their 401, and SOAP clients (zeep included) read a fault whatever the
status. The fault never holds a value from the request: problems name elements only.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from adapters.kit.contract import Rendered, WireErrors
from gateway.errors import GatewayError, Problem
from gateway.xroad.envelope import GATEWAY, LOCATIONS, SOAP_ENV, MustUnderstandError

SOAP_MEDIA_TYPE = "text/xml; charset=utf-8"


def fault_code(error: GatewayError) -> str:
    """Name who must act: the caller (Client) or the gateway (Server)."""
    if isinstance(error, MustUnderstandError):
        return "SOAP-ENV:MustUnderstand"
    return "SOAP-ENV:Client" if 400 <= error.status < 500 else "SOAP-ENV:Server"


def located(problem: Problem, locations: Mapping[str, str]) -> Problem:
    """Name a problem by the SOAP element that carried it, not the HTTP header it became."""
    return Problem(locations.get(problem.location, problem.location), problem.message)


def render_fault(error: GatewayError, locations: Mapping[str, str] | None = None) -> bytes:
    """Write the error as a SOAP 1.1 fault envelope (UTF-8)."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = fault_code(error)
    etree.SubElement(fault, "faultstring").text = error.message
    holder = etree.SubElement(fault, "detail")
    detail = etree.SubElement(holder, _gw("error"), nsmap={"gw": GATEWAY})
    etree.SubElement(detail, _gw("reason")).text = error.reason
    etree.SubElement(detail, _gw("status")).text = str(error.status)
    if error.exchange_id:
        etree.SubElement(detail, _gw("exchangeId")).text = error.exchange_id
    for reason in error.reasons:
        etree.SubElement(detail, _gw("policyReason")).text = reason
    for problem in error.problems:
        problem = located(problem, locations or {})
        item = etree.SubElement(detail, _gw("problem"))
        etree.SubElement(item, _gw("location")).text = problem.location
        etree.SubElement(item, _gw("message")).text = problem.message
    etree.SubElement(detail, _gw("problemCount")).text = str(error.problem_count)
    if not error.problem_count_exact:
        etree.SubElement(detail, _gw("problemCountIsLowerBound")).text = "true"
    return bytes(etree.tostring(envelope, encoding="UTF-8", xml_declaration=True))


def _gw(name: str) -> str:
    return f"{{{GATEWAY}}}{name}"


class SoapFaults:
    """How errors look on the X-Road SOAP wire, as the kit's WireErrors protocol says it.

    Why here and not in an adapter: the fault belongs to the SOAP envelope, which the gateway
    reads for every source, whatever its adapter; the adapter reads only the body's message.
    `message_type` is not needed: a fault is the same for every operation.
    """

    def render_error(self, message_type: str | None, error: GatewayError) -> Rendered:
        return Rendered(render_fault(error, LOCATIONS), SOAP_MEDIA_TYPE)


SOAP_FAULTS: WireErrors = SoapFaults()

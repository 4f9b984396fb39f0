"""Write a GatewayError as the immigration XML `exchangeError` (WireErrors), valid against the XSD.

Why: the authority's clients read XML in its namespace, not the gateway's JSON problem. The
document holds what the error holds and nothing else: its reason code, status, message,
exchange id, the policy's reasons and the problems (element paths and what is wrong, never a
value), with their count. The message type is not written: it came from the caller.

Bounded whatever the error: at most MAX_PROBLEMS problems and policy reasons, each text cut
to the XSD's length (a location 160 characters, a message 256, a code 128), characters XML
cannot carry replaced. Worst case (every character escaped to five bytes): 230 KB.
"""

from __future__ import annotations

import re

from lxml import etree

from adapters.immigration.schema import NAMESPACE, SCHEMA_VERSION, tag
from gateway.errors import MAX_PROBLEMS, GatewayError

ROOT = "exchangeError"
CODE_LENGTH = 128  # the XSD's ErrorCode
TEXT_LENGTH = 256  # ErrorText
LOCATION_LENGTH = 160  # ErrorLocation
_NOT_CODE = re.compile(r"[^A-Za-z0-9._:\-]")
# What XML 1.0 cannot carry: C0 controls but tab, newline and return; surrogates; U+FFFE/F.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CUT = "…"


def render_error(error: GatewayError) -> bytes:
    """Write the error as an `exchangeError` document (UTF-8, with an XML declaration)."""
    root = etree.Element(tag(ROOT), nsmap={None: NAMESPACE})
    root.set("schemaVersion", SCHEMA_VERSION)
    _put(root, "reason", _code(error.reason))
    _put(root, "status", str(error.status if 100 <= error.status <= 599 else 500))
    _put(root, "message", _text(error.message, TEXT_LENGTH))
    if error.exchange_id:
        _put(root, "exchangeId", _code(error.exchange_id))
    if error.reasons:
        reasons = etree.SubElement(root, tag("reasons"))
        for reason in error.reasons[:MAX_PROBLEMS]:
            _put(reasons, "reason", _code(reason))
    if error.problems:
        problems = etree.SubElement(root, tag("problems"))
        for problem in error.problems[:MAX_PROBLEMS]:
            item = etree.SubElement(problems, tag("problem"))
            _put(item, "location", _text(problem.location, LOCATION_LENGTH))
            _put(item, "message", _text(problem.message, TEXT_LENGTH))
    count = _put(root, "problemCount", str(max(error.problem_count, len(error.problems))))
    if not error.problem_count_exact:
        count.set("lowerBound", "true")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _put(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag(name))
    element.text = text
    return element


def _text(value: str, length: int) -> str:
    """Return text XML can carry, cut to `length` characters (an ellipsis says so)."""
    value = _NOT_XML.sub("\ufffd", value)
    return value if len(value) <= length else value[: length - 1] + _CUT


def _code(value: str) -> str:
    """Return a code as the XSD's ErrorCode allows: other characters become '_'."""
    return _NOT_CODE.sub("_", value)[:CODE_LENGTH] or "_"

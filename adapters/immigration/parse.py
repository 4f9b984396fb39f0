"""Read immigration XML into canonical payloads, listing every problem by element.

Order: hardened parse (adapters/kit/xml.py), the root element and its namespace, the XSD
(lxml, the hot path), then meaning: codes, calendar dates, the travel document's
machine-readable zone with every check digit, and the canonical model's own rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from lxml import etree
from pydantic import ValidationError

from adapters.immigration import schema
from adapters.immigration.fields import Fields, Reader, native
from adapters.immigration.mrz import MachineReadableZone, parse_mrz
from adapters.immigration.schema import NAMESPACE, ROOTS
from adapters.kit.xml import parse_xml
from gateway.canonical.documents import (
    DOCUMENT_REQUEST,
    DOCUMENT_STATUS,
    DOCUMENT_VALIDITY_ANSWER,
    DOCUMENT_VALIDITY_CHECK,
    DocumentRequest,
    DocumentStatus,
    DocumentValidity,
    DocumentValidityCheck,
)
from gateway.errors import ParseError, Problem, validation_problems

MRZ_LINES = native("travelDocument/mrz/line")
"""Structure, not a mapped field: the zone is read into the travel document's fields."""
_SHOWN = 64  # how much of a foreign element name a problem repeats

Data = dict[str, Any]
Document = DocumentRequest | DocumentStatus | DocumentValidityCheck | DocumentValidity
Model = (
    type[DocumentRequest]
    | type[DocumentStatus]
    | type[DocumentValidityCheck]
    | type[DocumentValidity]
)


def parse_message(fields: Fields, message_type: str, body: bytes, today: dt.date) -> Document:
    """Parse one immigration message of a known type, or raise ParseError listing problems."""
    root, problems = _checked(message_type, body)
    if problems:
        raise ParseError(f"message breaks the immigration {message_type} schema", problems)
    reader = Reader(fields, root)
    model, read = _READERS[message_type]
    data = read(reader, today)
    if reader.problems:
        raise ParseError(f"invalid immigration {message_type}", reader.problems)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        located = validation_problems(exc.errors(), _locator(fields, message_type))
        raise ParseError(f"invalid immigration {message_type}", located) from exc


def _checked(message_type: str, body: bytes) -> tuple[Any, list[Problem]]:
    """Return the body's root element and its problems against the XSD.

    ParseError if the body is no XML we read, or its root is not the message type's.
    """
    root = parse_xml(body)
    _check_root(root, ROOTS[message_type])
    return root, schema.validator().validate(root)


def schema_problems(message_type: str, body: bytes) -> list[Problem]:
    """Return a body's problems against the XSD; ParseError if it is no message of the type."""
    return _checked(message_type, body)[1]


def _check_root(root: Any, expected: str) -> None:
    """Refuse a body whose root element is not the message type's, in this namespace."""
    name = etree.QName(root)
    where = "/" + name.localname[:_SHOWN]
    if name.localname != expected:
        message = f"root element must be {expected} in namespace {NAMESPACE}"
        raise ParseError("wrong root element", [Problem(where, message)])
    if name.namespace != NAMESPACE:
        message = f"element must be in namespace {NAMESPACE}"  # never echo the one it is in
        raise ParseError("wrong namespace", [Problem(where, message)])


def _person(r: Reader) -> Data:
    """Read the person: identity, nationality, legal status and registration identifiers."""
    given, born = r.texts("person.names.given"), r.date("person.birth_date.date")
    return {
        "ref": r.text("person.ref"),
        "names": [{"given": given, "family": r.text("person.names.family")}] if given else [],
        "sex": r.code("person.sex") or "unknown",
        "birth_date": (
            {"date": born, "estimated": bool(r.flag("person.birth_date.estimated"))}
            if born
            else None
        ),
        "nationalities": r.codes("person.nationalities"),
        "country_of_origin": r.code("person.country_of_origin"),
        "stateless": bool(r.flag("person.stateless")),
        "legal_status": r.code("person.legal_status"),
        "identifiers": _identifiers(r),
    }


def _identifiers(r: Reader) -> list[Data]:
    pairs = r.pairs("person.identifiers.value", "person.identifiers.scheme")
    return [{"scheme": scheme, "value": value} for value, scheme in pairs]


def _travel_document(r: Reader, person: Data, today: dt.date) -> Data | None:
    """Read the travel document from its zone (check digits verified) or its elements."""
    lines = [(e.text or "").strip() for e in r.elements_at(MRZ_LINES)]
    if not lines:
        number = r.text("person.documents.number")
        if number is None:
            return None
        return {
            "type": r.text("person.documents.type"),
            "number": number,
            "issuing_country": r.code("person.documents.issuing_country"),
            "expiry": r.date("person.documents.expiry"),
        }
    where = f"/{r.fields.root}/travelDocument/mrz"
    try:
        zone = parse_mrz("\n".join(lines), where=where, today=today)
    except ParseError as exc:
        r.problems.extend(exc.problems)
        return None
    _agree(r, zone, person, where)
    return {
        "type": zone.document_code,
        "number": zone.document_number,
        "issuing_country": zone.issuing_state,
        "expiry": zone.expiry,
    }


def _agree(r: Reader, zone: MachineReadableZone, person: Data, where: str) -> None:
    """Check the zone against the person; add its nationality to theirs.

    Why add rather than refuse: a passport's nationality is a nationality, and every
    nationality is a risk country for the origin guard, so the guard must see it even when
    the message left it out. A differing date of birth means another person's document.
    """
    if zone.nationality not in person["nationalities"]:
        person["nationalities"] = [*person["nationalities"], zone.nationality]
    born = person["birth_date"]
    if zone.birth_date and born and not born["estimated"] and born["date"] != zone.birth_date:
        r.problems.append(Problem(where, "date of birth differs from person/birthDate"))


def _request(r: Reader, today: dt.date) -> Data:
    person = _person(r)
    if document := _travel_document(r, person, today):
        person["documents"] = [document]
    return {
        "request_ref": r.text("document_request.request_ref"),
        "kind": r.code("document_request.kind"),
        "requesting_office": r.text("document_request.requesting_office"),
        "person": person,
    }


def _status(r: Reader, today: dt.date) -> Data:
    number = r.text("document_status.document.number")
    document = (
        {
            "type": r.code("document_status.document.type"),
            "number": number,
            "expiry": r.date("document_status.document.expiry"),
        }
        if number
        else None
    )
    return {
        "request_ref": r.text("document_status.request_ref"),
        "status": r.code("document_status.status"),
        "person": {"ref": r.text("person.ref"), "identifiers": _identifiers(r)},
        "document": document,
    }


def _check(r: Reader, today: dt.date) -> Data:
    return {
        "check_ref": r.text("validity_check.check_ref"),
        "kind": r.code("validity_check.kind"),
        "number": r.text("validity_check.number"),
    }


def _answer(r: Reader, today: dt.date) -> Data:
    return {
        "check_ref": r.text("validity.check_ref"),
        "valid": r.flag("validity.valid"),
        "kind": r.code("validity.kind"),
        "expiry": r.date("validity.expiry"),
    }


_READERS: dict[str, tuple[Model, Callable[[Reader, dt.date], Data]]] = {
    DOCUMENT_REQUEST: (DocumentRequest, _request),
    DOCUMENT_STATUS: (DocumentStatus, _status),
    DOCUMENT_VALIDITY_CHECK: (DocumentValidityCheck, _check),
    DOCUMENT_VALIDITY_ANSWER: (DocumentValidity, _answer),
}
_MAPPING_ROOTS = {
    DOCUMENT_REQUEST: "document_request",
    DOCUMENT_STATUS: "document_status",
    DOCUMENT_VALIDITY_CHECK: "validity_check",
    DOCUMENT_VALIDITY_ANSWER: "validity",
}


def _locator(fields: Fields, message_type: str) -> Callable[[Sequence[Any]], str]:
    """Locate a canonical model's error at the element its field was read from."""
    mapping_root = _MAPPING_ROOTS[message_type]

    def locate(loc: Sequence[Any]) -> str:
        names = [str(part) for part in loc if isinstance(part, str)]
        index = next((part for part in loc if isinstance(part, int)), None)
        prefix = names if names[:1] == ["person"] else [mapping_root, *names]
        while prefix:
            canonical = ".".join(prefix)
            if canonical in fields.natives:
                where = fields.where(canonical)
                return where if index is None else f"{where}[{index + 1}]"
            prefix.pop()
        return f"/{fields.root}"

    return locate

"""Write canonical payloads as immigration XML, valid against the XSD or not written at all.

Element names come from the mapping specs (adapters/immigration/mappings/), written in the
XSD's order. A payload the XSD cannot hold (a person with no name, six nationalities, a
travel document without an expiry) is refused with InvalidInput naming the element; the
output is checked against the XSD before it leaves, so nothing invalid reaches the system.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from lxml import etree

from adapters.immigration import schema
from adapters.immigration.fields import Fields
from adapters.immigration.schema import NAMESPACE, SCHEMA_VERSION, tag
from gateway.canonical import IdentityDocument, Payload, Person
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
from gateway.errors import InvalidInput, Problem

MAX_REPEATS = 5  # the XSD's maxOccurs for names, nationalities and registration ids


class Writer:
    """Build one message: each canonical field written at its mapped element or attribute."""

    def __init__(self, fields: Fields) -> None:
        self.fields = fields
        self.root = etree.Element(tag(fields.root), nsmap={None: NAMESPACE})
        self.root.set("schemaVersion", SCHEMA_VERSION)
        self.problems: list[Problem] = []

    def put(self, canonical: str, value: Any) -> Any:
        """Write a value at a field's element (a new one) or attribute; return the element."""
        native = self.fields.natives.get(canonical)
        if native is None or value is None:
            return None
        text = _text(self.fields.encoders[canonical](value) if isinstance(value, str) else value)
        steps = [s for s in native.element.split("/") if s]
        try:
            if native.attribute is None:
                element = etree.SubElement(self._parent(steps[:-1]), steps[-1])
                element.text = text
            else:
                element = self._parent(steps)
                element.set(native.attribute, text)
        except ValueError:  # lxml refuses text XML cannot carry; never echo it
            where = self.fields.where(canonical)
            self.problems.append(Problem(where, "value holds characters XML cannot carry"))
            return None
        return element

    def mark(self, element: Any, canonical: str, value: Any) -> None:
        """Set the attribute a field maps to on an element just written (a list item's)."""
        native = self.fields.natives.get(canonical)
        if native is not None and native.attribute is not None and value is not None:
            encoded = self.fields.encoders[canonical](value) if isinstance(value, str) else value
            element.set(native.attribute, _text(encoded))

    def _parent(self, steps: Sequence[str]) -> Any:
        """Return the element at a path of tags, made if missing (containers come first)."""
        element = self.root
        for step in steps:
            found = element.find(step)
            element = etree.SubElement(element, step) if found is None else found
        return element

    def need(self, present: object, canonical: str, what: str) -> None:
        """Note that the payload lacks what the XSD requires."""
        if not present:
            self.problems.append(Problem(self.fields.where(canonical), f"{what} is missing"))

    def at_most(self, items: Sequence[Any], canonical: str) -> Sequence[Any]:
        """Note a list longer than the XSD allows; return it unchanged."""
        if len(items) > MAX_REPEATS:
            where = self.fields.where(canonical)
            self.problems.append(Problem(where, f"at most {MAX_REPEATS} are written"))
        return items

    def finish(self, message_type: str) -> bytes:
        """Return the message's bytes, once it is complete and valid against the XSD."""
        if not self.problems:
            self.problems = schema.validator().validate(self.root)
        if self.problems:
            raise InvalidInput(
                f"payload cannot be written as an immigration {message_type}", self.problems
            )
        return bytes(etree.tostring(self.root, xml_declaration=True, encoding="UTF-8"))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _identifiers(w: Writer, person: Person) -> None:
    w.need(person.identifiers, "person.identifiers.value", "registration identifier")
    for identifier in w.at_most(person.identifiers, "person.identifiers.value"):
        element = w.put("person.identifiers.value", identifier.value)
        w.mark(element, "person.identifiers.scheme", identifier.scheme)


def render_request(fields: Fields, request: DocumentRequest) -> Writer:
    """Write a document request: the person in full, and a travel document written out."""
    w, person = Writer(fields), request.person
    w.put("document_request.request_ref", request.request_ref)
    w.put("document_request.kind", request.kind.value)
    w.put("document_request.requesting_office", request.requesting_office)
    w.put("person.ref", person.ref)
    w.need(person.names, "person.names.given", "name")
    w.need(person.birth_date, "person.birth_date.date", "date of birth")
    w.need(person.legal_status, "person.legal_status", "legal status")
    if person.names:
        name = person.names[0]
        w.put("person.names.family", name.family)
        for given in w.at_most(name.given, "person.names.given"):
            w.put("person.names.given", given)
    w.put("person.sex", person.sex.value)
    if person.birth_date:
        element = w.put("person.birth_date.date", person.birth_date.date)
        if person.birth_date.estimated:
            w.mark(element, "person.birth_date.estimated", True)
    for country in w.at_most(person.nationalities, "person.nationalities"):
        w.put("person.nationalities", country)
    w.put("person.country_of_origin", person.country_of_origin)
    if person.stateless:
        w.put("person.stateless", True)
    w.put("person.legal_status", person.legal_status.value if person.legal_status else None)
    _identifiers(w, person)
    if person.documents:
        _travel_document(w, person.documents)
    return w


def _travel_document(w: Writer, documents: Sequence[IdentityDocument]) -> None:
    if len(documents) > 1:
        where = w.fields.where("person.documents.number")
        w.problems.append(Problem(where, "at most one travel document is written"))
    document = documents[0]
    w.need(document.issuing_country, "person.documents.issuing_country", "issuing state")
    w.need(document.expiry, "person.documents.expiry", "expiry date")
    w.put("person.documents.type", document.type)
    w.put("person.documents.number", document.number)
    w.put("person.documents.issuing_country", document.issuing_country)
    w.put("person.documents.expiry", document.expiry)


def render_status(fields: Fields, status: DocumentStatus) -> Writer:
    """Write a status reply: the person by identifiers only, an issued document with it."""
    w = Writer(fields)
    w.put("document_status.request_ref", status.request_ref)
    w.put("document_status.status", status.status.value)
    w.put("person.ref", status.person.ref)
    _identifiers(w, status.person)
    if status.document is not None:
        w.put("document_status.document.type", status.document.type)
        w.put("document_status.document.number", status.document.number)
        w.put("document_status.document.expiry", status.document.expiry)
    return w


def render_check(fields: Fields, check: DocumentValidityCheck) -> Writer:
    """Write a validity check: the document's kind and number, nothing else."""
    w = Writer(fields)
    w.put("validity_check.check_ref", check.check_ref)
    w.put("validity_check.kind", check.kind.value)
    w.put("validity_check.number", check.number)
    return w


def render_answer(fields: Fields, answer: DocumentValidity) -> Writer:
    """Write a validity answer: valid or not, the kind and the expiry."""
    w = Writer(fields)
    w.put("validity.check_ref", answer.check_ref)
    w.put("validity.valid", answer.valid)
    w.put("validity.kind", answer.kind.value)
    w.put("validity.expiry", answer.expiry)
    return w


MODELS: dict[str, type] = {
    DOCUMENT_REQUEST: DocumentRequest,
    DOCUMENT_STATUS: DocumentStatus,
    DOCUMENT_VALIDITY_CHECK: DocumentValidityCheck,
    DOCUMENT_VALIDITY_ANSWER: DocumentValidity,
}


def render_message(fields: Fields, message_type: str, payload: Payload) -> bytes:
    """Write a payload as the message type's XML; TypeError for a payload of another type."""
    model = MODELS[message_type]
    if not isinstance(payload, model):
        raise TypeError(f"{message_type} renders a {model.__name__}, not {type(payload).__name__}")
    if isinstance(payload, DocumentRequest):
        writer = render_request(fields, payload)
    elif isinstance(payload, DocumentStatus):
        writer = render_status(fields, payload)
    elif isinstance(payload, DocumentValidityCheck):
        writer = render_check(fields, payload)
    else:
        assert isinstance(payload, DocumentValidity)
        writer = render_answer(fields, payload)
    return writer.finish(message_type)

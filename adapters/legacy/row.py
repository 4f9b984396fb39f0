"""Read one legacy export row into a canonical Registration, and write one back.

A row is a flat object of text: the export's column names (named by the mapping spec) to
cell values; an empty cell is absent; list cells are ';'-separated. Problems name the
column, never the value, which may be personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from adapters.kit.jsonschema_problems import canonical_problems, pointer
from adapters.kit.mapping import MappingSet
from adapters.legacy import schema
from gateway.canonical.registration import REGISTRATION, Registration
from gateway.errors import ParseError, Problem

SCHEME = "legacy-individual"
"""The identifier scheme of the retired tool's individual numbers."""
SEPARATOR = ";"
MAX_ITEMS = 20
"""Codes a list cell may hold (the schema's pattern says the same)."""
YES, NO = "Y", "N"

# The canonical fields the reader fills, in the order they are read.
SINGLE = (
    "person.ref",
    "person.names.given",
    "person.names.family",
    "person.sex",
    "person.birth_date.date",
    "person.birth_date.estimated",
    "person.country_of_origin",
    "person.legal_status",
    "person.documents.type",
    "person.documents.number",
    "registration_record.registered_on",
    "registration_record.office",
)
LISTS = ("person.nationalities", "person.specific_needs")


class Columns:
    """The spec resolved once, with the adapter: each canonical field's column and code list."""

    def __init__(self, mappings: MappingSet) -> None:
        spec = mappings.spec(REGISTRATION)
        self.native = {f.canonical: f.native for f in spec.fields}
        self.decode: dict[str, Callable[[str | int], str]] = {
            c: mappings.decoder(spec, c) for c in self.native
        }
        self.encode = {c: mappings.encoder(spec, c) for c in self.native}
        self.coded = frozenset(c for c in self.native if spec.codelist_of(c) is not None)


def parse_row(columns: Columns, doc: dict[str, Any]) -> Registration:
    """Read a row; ParseError lists every problem (schema, codes, canonical model)."""
    cells, unknown_codes = _cells(columns, doc)
    problems = schema.problems(doc) + unknown_codes
    if problems:
        raise ParseError("the row does not match the legacy export", problems)
    try:
        return Registration.model_validate(_registration(cells))
    except ValidationError as exc:
        raise ParseError("the row is not a valid registration", canonical_problems(exc)) from exc


def _cells(columns: Columns, doc: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Return each mapped field's value, codes decoded; and every code not known."""
    cells: dict[str, Any] = {}
    problems: list[Problem] = []
    for canonical in (*SINGLE, *LISTS):
        native = columns.native.get(canonical)
        raw = None if native is None else doc.get(native)
        if not isinstance(raw, str) or not raw.strip():
            continue
        assert native is not None
        if canonical in LISTS:  # no more than the schema allows: it lists the excess
            values = [v.strip() for v in raw.split(SEPARATOR, MAX_ITEMS)[:MAX_ITEMS]]
        else:
            values = [raw.strip()]
        if canonical in columns.coded:
            decoded = []
            for at, value in enumerate(values):
                try:
                    decoded.append(columns.decode[canonical](value))
                except KeyError:
                    where: list[str | int] = [native, at] if canonical in LISTS else [native]
                    problems.append(Problem(pointer(where), "is not a known code"))
            if len(decoded) < len(values):
                continue
            values = decoded
        cells[canonical] = values if canonical in LISTS else values[0]
    return cells, problems


def _registration(cells: dict[str, Any]) -> dict[str, Any]:
    """Build the Registration's fields from decoded cells (the model validates them)."""
    ref = cells.get("person.ref")
    person: dict[str, Any] = {"ref": ref}
    if ref is not None:
        person["identifiers"] = [{"scheme": SCHEME, "value": ref}]
    given = cells.get("person.names.given")
    if given is not None:
        name: dict[str, Any] = {"given": given.split()}
        if (family := cells.get("person.names.family")) is not None:
            name["family"] = family
        person["names"] = [name]
    for canonical, key in (
        ("person.sex", "sex"),
        ("person.country_of_origin", "country_of_origin"),
        ("person.legal_status", "legal_status"),
        ("person.nationalities", "nationalities"),
        ("person.specific_needs", "specific_needs"),
    ):
        if canonical in cells:
            person[key] = cells[canonical]
    if (born := cells.get("person.birth_date.date")) is not None:
        estimated = cells.get("person.birth_date.estimated", NO).upper() == YES
        person["birth_date"] = {"date": born, "estimated": estimated}
    doc_type, number = cells.get("person.documents.type"), cells.get("person.documents.number")
    if doc_type is not None or number is not None:
        person["documents"] = [{"type": doc_type, "number": number}]
    found: dict[str, Any] = {
        "person": person,
        "registered_on": cells.get("registration_record.registered_on"),
    }
    if (office := cells.get("registration_record.office")) is not None:
        found["office"] = office
    return found


def render_row(columns: Columns, registration: Registration) -> dict[str, str]:
    """Write a registration's individual as a legacy row (household members are not rows).

    Why the household is left out: one row is one individual in the export, and it has no
    column that links rows; a destination that needs households is not a legacy export.
    """
    person, enc = registration.person, columns.encode
    row: dict[str, Any] = {
        "person.ref": person.ref,
        "person.sex": enc["person.sex"](person.sex.value),
        "registration_record.registered_on": registration.registered_on.isoformat(),
    }
    if person.names:
        row["person.names.given"] = " ".join(person.names[0].given)
        if person.names[0].family is not None:
            row["person.names.family"] = person.names[0].family
    if person.birth_date is not None:
        row["person.birth_date.date"] = person.birth_date.date.isoformat()
        row["person.birth_date.estimated"] = YES if person.birth_date.estimated else NO
    if person.nationalities:
        row["person.nationalities"] = SEPARATOR.join(
            str(enc["person.nationalities"](c)) for c in person.nationalities
        )
    if person.country_of_origin is not None:
        row["person.country_of_origin"] = enc["person.country_of_origin"](person.country_of_origin)
    if person.legal_status is not None:
        row["person.legal_status"] = enc["person.legal_status"](person.legal_status.value)
    if person.specific_needs:
        row["person.specific_needs"] = SEPARATOR.join(
            str(enc["person.specific_needs"](n)) for n in person.specific_needs
        )
    if person.documents:
        row["person.documents.type"] = person.documents[0].type
        row["person.documents.number"] = person.documents[0].number
    if registration.office is not None:
        row["registration_record.office"] = registration.office
    return {columns.native[c]: str(v) for c, v in row.items() if c in columns.native}

"""Read OpenCRVS's registered-birth document Bundle into a canonical BirthRegistration.

The input is what OpenCRVS holds for a registered birth (shaped like its
mark-registered-request.json): a Composition whose child-details section names the child
Patient, and a Task whose business status is REGISTERED and whose identifiers carry the
tracking id and the birth registration number. It is not strict FHIR (OpenCRVS writes
`"subject": {}` and `"author": []`), so it is checked against a schema of the parts read
and against the OpenCRVS profile, every problem listed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from adapters.kit.jsonschema_problems import canonical_problems
from adapters.kit.mapping import MappingSet
from adapters.opencrvs import profile, schema
from adapters.opencrvs.natives import Native
from adapters.opencrvs.profile import CHILD, REG_STATUS, REGISTERED_BIRTH_TYPES, Document
from adapters.opencrvs.resources import clean
from gateway.canonical import BirthRegistration
from gateway.errors import ParseError, Problem

CONFIRMATION = "birth-registration-confirmation"
REGISTERED = "REGISTERED"
# The repeating elements the reader reads, bounded as the schema bounds them.
MAX_IDENTIFIERS = schema.max_items(CONFIRMATION, "/$defs/patient/properties/identifier")
MAX_TASK_IDENTIFIERS = schema.max_items(CONFIRMATION, "/$defs/task/properties/identifier")
MAX_NAMES = schema.max_items(CONFIRMATION, "/$defs/patient/properties/name")
_NAME = "/$defs/patient/properties/name/items/properties"
MAX_GIVEN = schema.max_items(CONFIRMATION, f"{_NAME}/given")
MAX_FAMILY = schema.max_items(CONFIRMATION, f"{_NAME}/family")


def _items(value: Any, limit: int) -> list[dict[str, Any]]:
    return [v for v in profile.items(value, limit) if isinstance(v, dict)]


class _Reader:
    """Read the registration and the child from a checked document, noting every problem."""

    def __init__(
        self, mappings: MappingSet, natives: dict[str, Native], document: Document
    ) -> None:
        self.mappings = mappings
        self.spec = mappings.spec(CONFIRMATION)
        self.natives = natives
        self.document = document
        self.problems: list[Problem] = []

    def add(self, resource: dict[str, Any], element: str, message: str) -> None:
        """Note a problem at an element of one resource."""
        url = next(u for u, r in self.document.resources.items() if r is resource)
        where = f"/entry/{self.document.positions[url]}/resource/{element}"
        self.problems.append(Problem(where, message))

    def task_identifier(self, task: dict[str, Any], canonical: str) -> str | None:
        """Return the Task identifier in the system the spec names for a field."""
        native = self.natives.get(canonical)
        if native is None:
            return None
        values = [
            i["value"].strip()
            for i in _items(task.get(native.path[0]), MAX_TASK_IDENTIFIERS)
            if i.get("system") == native.selector and isinstance(i.get("value"), str)
        ]
        return next((v for v in values if v), None)

    def registration(self, task: dict[str, Any]) -> dict[str, Any]:
        """Return the registration's fields; a Task not REGISTERED is a problem."""
        status = profile.codes(task.get("businessStatus"), {REG_STATUS})
        if REGISTERED not in status:
            self.add(
                task,
                "businessStatus",
                f"birth is not registered (status: {', '.join(status) or 'none'})",
            )
        number = self.task_identifier(task, "registration.registration_number")
        if number is None:
            system = self.natives["registration.registration_number"].selector
            self.add(task, "identifier", f"no birth registration number (system {system})")
        data: dict[str, Any] = {
            "registration_number": number,
            "tracking_id": self.task_identifier(task, "registration.tracking_id"),
        }
        field = self.natives.get("registration.registered_at")
        raw = task.get(field.key) if field else None
        if field and isinstance(raw, str):
            try:
                data["registered_at"] = dt.datetime.fromisoformat(raw)
            except ValueError:
                self.add(task, field.key, "not an ISO 8601 date-time")
        return data

    def child(self, patient: dict[str, Any]) -> dict[str, Any]:
        """Return the child's fields; a child that cannot be linked back is a problem."""
        ref = patient.get("id")
        data: dict[str, Any] = {
            "ref": ref if isinstance(ref, str) and 0 < len(ref) <= 64 else "child",
            "identifiers": self.identifiers(patient),
            "names": self.names(patient),
        }
        if not data["identifiers"]:
            name = self.spec.codelist_of("person.identifiers.scheme") or ""
            known = (
                self.mappings.codelists[name].systems.get(self.mappings.adapter, {}) if name else {}
            )
            systems = ", ".join(sorted(map(str, known.values()))) or "none configured"
            self.add(patient, "identifier", f"child has no identifier to link back ({systems})")
        sex = self.natives.get("person.sex")
        if sex and isinstance(gender := patient.get(sex.key), str):
            try:
                data["sex"] = self.mappings.decode(self.spec, "person.sex", gender)
            except KeyError:
                self.add(patient, sex.key, f"unknown gender code {gender!r}")
        born = self.natives.get("person.birth_date.date")
        if born and isinstance(raw := patient.get(born.key), str):
            try:
                data["birth_date"] = {"date": dt.date.fromisoformat(raw)}
            except ValueError:
                pass  # the schema's date format reports it
        return data

    def identifiers(self, patient: dict[str, Any]) -> list[dict[str, str]]:
        """Return the identifiers whose system the identifier-scheme code list knows."""
        system = self.natives.get("person.identifiers.scheme")
        value = self.natives.get("person.identifiers.value")
        if not (system and value):
            return []
        found = []
        for item in _items(patient.get(system.path[0]), MAX_IDENTIFIERS):
            uri, text = item.get(system.key), item.get(value.key)
            if not (isinstance(uri, str) and isinstance(text, str) and text.strip()):
                continue
            try:
                scheme = self.mappings.decode(self.spec, "person.identifiers.scheme", uri)
            except KeyError:
                continue  # the registry's own identifiers (national id, ...) link nothing here
            found.append({"scheme": scheme, "value": text.strip()})
        return found

    def names(self, patient: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the names that have a given name; a canonical name cannot lack one."""
        given, family = (
            self.natives.get("person.names.given"),
            self.natives.get("person.names.family"),
        )
        if given is None:
            return []
        found = []
        for item in _items(patient.get(given.path[0]), MAX_NAMES):
            raw_given = profile.items(item.get(given.key), MAX_GIVEN)
            given_names = [clean(g) for g in raw_given if isinstance(g, str)]
            raw_family = item.get(family.key) if family else None
            parts = (
                profile.items(raw_family, MAX_FAMILY)
                if isinstance(raw_family, list)
                else [raw_family]
            )
            family_name = clean(" ".join(p for p in parts if isinstance(p, str)))
            if any(given_names):
                found.append({"given": [g for g in given_names if g], "family": family_name})
        return found


def _read(reader: _Reader, document: Document) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if document.task is not None:
        data.update(reader.registration(document.task))
    children = document.sections.get(CHILD, [])
    if children and document.resources[children[0]]["resourceType"] == "Patient":
        data["child"] = reader.child(document.resources[children[0]])
    return data


def parse_confirmation(
    mappings: MappingSet, natives: dict[str, Native], doc: dict[str, Any]
) -> BirthRegistration:
    """Validate a registered-birth bundle and return the registration it records.

    `natives` is `natives_of` the confirmation spec, which the adapter parses once.
    """
    problems = schema.problems(CONFIRMATION, doc)
    document, found = profile.read_document(doc, REGISTERED_BIRTH_TYPES)
    problems += found
    data: dict[str, Any] = {}
    if document is not None:
        problems += profile.section_problems(document, (CHILD,))
        reader = _Reader(mappings, natives, document)
        data = _read(reader, document)
        problems += reader.problems
    if problems:
        raise ParseError(f"invalid OpenCRVS {CONFIRMATION}", problems)
    try:
        return BirthRegistration.model_validate(data)
    except ValidationError as exc:
        raise ParseError(f"invalid OpenCRVS {CONFIRMATION}", canonical_problems(exc)) from exc

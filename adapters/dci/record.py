"""Read one DCI CRVS_Person record into canonical person fields, through a mapping spec.

A spec's native field is a path in the record: `name.surname`, `identifier.identifier_value`
(each item when `identifier` is a list, DCI writing one identifier as an object and several as
a list), and `identifier[BRN].identifier_value` for the identifier of one identifier_type.
The records were checked against the schema first, so types are known; what the schema
cannot say (an unknown sex code, a date that is no date) is a problem named by its pointer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.kit.mapping import MappingSet, MappingSpec
from gateway.errors import Problem

RECORD_NATIVES = frozenset(
    {
        "identifier.identifier_type",
        "identifier.identifier_value",
        "name.given_name",
        "name.surname",
        "name.second_name",
        "name.prefix",
        "name.suffix",
        "sex",
        "birth_date",
    }
)
"""The record's attributes the reader reads: those a spec may map."""
UNREAD_NATIVES = frozenset(
    {
        "address",
        "birth_place",
        "death_date",
        "death_place",
        "divorce_date",
        "email",
        "marital_status",
        "marriage_date",
        "parent1_identifier",
        "parent2_identifier",
        "phone_number",
    }
)
"""The CRVS_Person's other attributes: a spec lists them in `dropped`, saying why."""
_SELECTED = re.compile(r"identifier\[([A-Za-z0-9_:.\-]{1,64})\]\.identifier_value")
MAX_IDENTIFIERS = 10  # as the schemas' maxItems


def selected_type(native: str) -> str | None:
    """Return the identifier_type a selector names (`identifier[BRN]...` -> BRN), if any."""
    match = _SELECTED.fullmatch(native)
    return match.group(1) if match else None


@dataclass(frozen=True)
class RecordReader:
    """Read records as one spec maps them; built once with the adapter."""

    mappings: MappingSet
    spec: MappingSpec

    @property
    def natives(self) -> Mapping[str, str]:
        return {f.canonical: f.native for f in self.spec.fields}

    def person(
        self, record: dict[str, Any], ref: str, where: str
    ) -> tuple[dict[str, Any], list[Problem]]:
        """Return a canonical person's fields from a record, and the problems found."""
        problems: list[Problem] = []
        natives = self.natives
        data: dict[str, Any] = {"ref": ref, "identifiers": self.identifiers(record)}
        given, family = (
            _at(record, natives.get("person.names.given")),
            _at(record, natives.get("person.names.family")),
        )
        if isinstance(given, str) and given.strip():
            name: dict[str, Any] = {"given": given.split()}
            if isinstance(family, str) and family.strip():
                name["family"] = " ".join(family.split())
            data["names"] = [name]
        sex = _at(record, natives.get("person.sex"))
        if isinstance(sex, str):
            try:
                data["sex"] = self.mappings.decode(self.spec, "person.sex", sex)
            except KeyError:
                problems.append(Problem(f"{where}/{natives['person.sex']}", "unknown sex code"))
        born = _at(record, natives.get("person.birth_date.date"))
        if isinstance(born, str):
            try:
                data["birth_date"] = {"date": dt.date.fromisoformat(born[:10])}
            except ValueError:
                where_born = f"{where}/{natives['person.birth_date.date']}"
                problems.append(Problem(where_born, "not a date (YYYY-MM-DD)"))
        return data, problems

    def identifiers(self, record: dict[str, Any]) -> list[dict[str, str]]:
        """Return the identifiers whose type the identifier-scheme code list knows."""
        found = []
        for item in identifier_items(record):
            kind, value = item.get("identifier_type"), item.get("identifier_value")
            if not (isinstance(kind, str) and isinstance(value, str) and value.strip()):
                continue
            try:
                scheme = self.mappings.decode(self.spec, "person.identifiers.scheme", kind)
            except KeyError:
                continue  # a type this deployment does not use links nothing
            found.append({"scheme": scheme, "value": value.strip()})
        return found

    def selected(self, record: dict[str, Any], canonical: str) -> str | None:
        """Return the value of the identifier a selector field names (`identifier[BRN]...`)."""
        kind = selected_type(self.natives.get(canonical, ""))
        for item in identifier_items(record):
            value = item.get("identifier_value")
            if item.get("identifier_type") == kind and isinstance(value, str) and value.strip():
                return value.strip()
        return None


def identifier_items(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a record's identifiers: DCI writes one as an object, several as a list."""
    raw = record.get("identifier")
    items = raw[:MAX_IDENTIFIERS] if isinstance(raw, list) else [raw]
    return [item for item in items if isinstance(item, dict)]


def _at(record: dict[str, Any], native: str | None) -> Any:
    """Return the value at a dotted path, or None."""
    value: Any = record
    for part in (native or "").split(".") if native else ():
        value = value.get(part) if isinstance(value, dict) else None
    return value

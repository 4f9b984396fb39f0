"""Native field names of the OpenCRVS adapter: FHIR element paths.

A native name is `Resource.element[.child]`, optionally ending in `[selector]` to pick one
entry of a repeating element: an extension by its URL, an identifier by its system. The
renderer and parser take element names and selectors from the mapping spec through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from adapters.kit.mapping import MappingSpec

NATIONALITY_URL = "http://hl7.org/fhir/StructureDefinition/patient-nationality"

_PATTERN = re.compile(
    r"^([A-Z][A-Za-z]+)\.([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)*)(?:\[([^\[\]\s]+)\])?$"
)

BIRTH_NOTIFICATION_NATIVES = frozenset(
    {
        "Patient.name.given",
        "Patient.name.family",
        "Patient.gender",
        "Patient.birthDate",
        "Patient.multipleBirthBoolean",
        "Patient.identifier.system",
        "Patient.identifier.value",
        f"Patient.extension[{NATIONALITY_URL}]",
        "RelatedPerson.relationship",
        "Encounter.period.start",
        "Location.name",
        "Location.address.country",
    }
)
CONFIRMATION_NATIVES = frozenset(
    {
        "Task.lastModified",
        "Patient.identifier.system",
        "Patient.identifier.value",
        "Patient.name.given",
        "Patient.name.family",
        "Patient.gender",
        "Patient.birthDate",
    }
)
# Task identifiers are told apart by system, and which systems a registry uses is data: the
# spec may name any absolute URI here.
_SELECTABLE = re.compile(r"^Task\.identifier\[[a-z][a-z0-9+.-]*:[^\[\]\s]+\]$")


@dataclass(frozen=True)
class Native:
    """One parsed native name."""

    resource: str
    path: tuple[str, ...]
    selector: str | None

    @property
    def key(self) -> str:
        """Return the JSON key of the element itself."""
        return self.path[-1]


def parse_native(name: str) -> Native:
    """Split a native name into resource, element path and selector."""
    match = _PATTERN.match(name)
    if match is None:
        raise ValueError(f"not a FHIR element path: {name!r}")
    resource, path, selector = match.groups()
    return Native(resource, tuple(path.split(".")), selector)


def known(fixed: frozenset[str], spec: MappingSpec | None) -> frozenset[str]:
    """Return the native names the adapter handles for a spec: fixed ones plus selectable ones."""
    names: Iterable[str] = [] if spec is None else (f.native for f in spec.fields)
    return fixed | {n for n in names if _SELECTABLE.match(n)}


def natives_of(spec: MappingSpec) -> dict[str, Native]:
    """Return the spec's native names, parsed, by canonical field."""
    return {f.canonical: parse_native(f.native) for f in spec.fields}

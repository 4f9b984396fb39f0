"""The proGres JSON Schemas: what a body must look like, and which attributes exist.

The schemas are the adapter's description of the proGres wire format, so the attribute
names they define are the native fields a mapping spec may use: a spec naming any other
attribute fails when the adapter is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.kit.jsonschema_problems import load_schema, schema_problems
from adapters.kit.mapping import MappingSpec
from gateway.errors import Problem

BIRTH_NOTIFICATION = "birth-notification"
CONFIRMATION = "birth-registration-confirmation"
WITHDRAWAL = "consent-withdrawal"  # gateway.canonical.CONSENT_WITHDRAWAL

# Attributes that hold records, not values: structure, never the target of a mapping.
INDIVIDUALS = "individuals"
PACKAGE = "adapters.progres.schemas"
DOCUMENTS = "progres_documents"


def _schema(message_type: str) -> dict[str, Any]:
    return load_schema(PACKAGE, message_type)


def problems(message_type: str, doc: Any) -> list[Problem]:
    """Return every schema violation in a body, in a stable order."""
    return schema_problems(PACKAGE, message_type, doc)


def item_limits(message_type: str) -> dict[str, int]:
    """Return, per list attribute of any record, how many items the schema allows (maxItems).

    Why: the parser reads no more items than this, so a body holding 340,000 individuals costs
    it what three cost; the schema lists the excess as a problem.
    """
    schema = _schema(message_type)
    limits: dict[str, int] = {}
    for record in [schema, *schema.get("$defs", {}).values()]:
        for name, node in record.get("properties", {}).items():
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                node = {**schema["$defs"][ref.removeprefix("#/$defs/")], **node}
            if "maxItems" in node:
                limits[name] = min(node["maxItems"], limits.get(name, node["maxItems"]))
    return limits


def _properties(schema: Mapping[str, Any], definition: str | None = None) -> set[str]:
    node = schema["$defs"][definition] if definition else schema
    return set(node.get("properties", {}))


def native_scopes(message_type: str) -> dict[str, frozenset[str]]:
    """Return, per canonical prefix, the attributes that may carry its fields."""
    schema = _schema(message_type)
    if message_type == BIRTH_NOTIFICATION:
        return {
            "birth": frozenset(_properties(schema) - {INDIVIDUALS}),
            "person": frozenset(_properties(schema, "individual") - {DOCUMENTS}),
            "person.documents": frozenset(_properties(schema, "document")),
        }
    top = frozenset(_properties(schema))
    if message_type == WITHDRAWAL:
        return {"withdrawal": top}
    return {"registration": top, "person": top}


def misplaced(spec: MappingSpec, scopes: Mapping[str, frozenset[str]]) -> list[str]:
    """Name every field a spec maps to an attribute of the wrong record.

    Why: an event attribute and an individual attribute may share a name
    (progres_dateofbirth), so knowing the name is not enough; it must be on the right record.
    """
    found = []
    for field in spec.fields:
        prefixes = [
            p for p in scopes if field.canonical == p or field.canonical.startswith(p + ".")
        ]
        if not prefixes:
            found.append(f"{spec.message_type}: {field.canonical} cannot be carried")
            continue
        scope = max(prefixes, key=len)
        if field.native not in scopes[scope]:
            found.append(f"{spec.message_type}: {field.native!r} is not an attribute of {scope}")
    return found

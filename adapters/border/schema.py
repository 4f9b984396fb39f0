"""The border system's JSON Schema: what a referral must look like, and which attributes exist.

The schema describes the wire format, so the attribute names it defines are the native
fields a mapping spec may name, each on its own record (the referral, its person, the
person's other names, ids and documents): a spec naming any other attribute, or one of
another record, fails when the adapter is built.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.kit.jsonschema_problems import load_schema, schema_problems
from adapters.kit.mapping import MappingSpec
from gateway.canonical.referral import REFERRAL
from gateway.errors import Problem

PACKAGE = "adapters.border.schemas"
PERSON = "person"
OTHER_NAMES = "otherNames"
PERSON_IDS = "personIds"
DOCUMENTS = "documents"
RECORDS = frozenset({PERSON, OTHER_NAMES, PERSON_IDS, DOCUMENTS})
"""Attributes that hold records, not values: structure, never the target of a mapping."""


def problems(doc: Any) -> list[Problem]:
    """Return every schema violation in a referral body, in a stable order (none when valid)."""
    return schema_problems(PACKAGE, REFERRAL, doc)


def rendered_problems(body: bytes) -> list[Problem]:
    """Return what is wrong with a body the adapter wrote, against the border schema."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [Problem("/", "body is not JSON")]
    return problems(doc)


def _properties(definition: str | None = None) -> frozenset[str]:
    schema = load_schema(PACKAGE, REFERRAL)
    node = schema["$defs"][definition] if definition else schema
    return frozenset(node.get("properties", {})) - RECORDS


def scopes() -> dict[str, frozenset[str]]:
    """Return, per canonical prefix, the attributes that may carry its fields."""
    return {
        "referral": _properties(),
        "person": _properties("person"),
        # A name is written on the person and on each of their other names: both must hold it.
        "person.names": _properties("otherName") & _properties("person"),
        "person.identifiers": _properties("personId"),
        "person.documents": _properties("document"),
    }


def item_limits() -> dict[str, int]:
    """Return, per list attribute, how many items the schema allows (maxItems).

    Why: the parser reads no more items than this, so a body holding 300,000 documents costs
    it what eight cost; the schema lists the excess as a problem.
    """
    schema = load_schema(PACKAGE, REFERRAL)
    defs = schema["$defs"]
    limits: dict[str, int] = {}
    for record in [schema, *defs.values()]:
        for name, node in record.get("properties", {}).items():
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                node = {**defs[ref.removeprefix("#/$defs/")], **node}
            if "maxItems" in node:
                limits[name] = min(node["maxItems"], limits.get(name, node["maxItems"]))
    return limits


def misplaced(spec: MappingSpec, scoped: Mapping[str, frozenset[str]]) -> list[str]:
    """Name every field a spec maps to an attribute of the wrong record.

    Why: a person's name and one of their other names share attribute names, and a document's
    number is not the person's; knowing the name is not enough, it must be on the right record.
    """
    found = []
    for field in spec.fields:
        prefixes = [p for p in scoped if field.canonical.startswith(p + ".")]
        if not prefixes:
            found.append(f"{spec.message_type}: {field.canonical} cannot be carried")
            continue
        scope = max(prefixes, key=len)
        if field.native not in scoped[scope]:
            found.append(f"{spec.message_type}: {field.native!r} is not an attribute of {scope}")
    return found

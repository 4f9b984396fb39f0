"""The Primero JSON Schema: what a case body must look like, and which case fields exist.

The schema is the adapter's description of Primero's wire format, so the case fields it
defines are the native fields a mapping spec may use: a spec naming any other field fails
when the adapter is built.
"""

from __future__ import annotations

from typing import Any

from adapters.kit.jsonschema_problems import load_schema, schema_problems
from gateway.canonical.referral import REFERRAL
from gateway.errors import Problem

PACKAGE = "adapters.primero.schemas"
DATA = "data"  # the envelope of every Primero v2 API body: structure, never mapped
MODULE = "module_id"
CP_MODULE = "primeromodule-cp"  # the child-protection module: the only one referred to
CASE_REFERENCE = "case_id_display"  # a case's own reference, read as the referral's id
STATUS = "unaccompanied_separated_status"
NO_STATUS = "no"
STRUCTURE = frozenset({MODULE, CASE_REFERENCE, STATUS})
"""Case fields the adapter reads or writes itself, not through a spec's field."""


def _case() -> dict[str, Any]:
    schema: dict[str, Any] = load_schema(PACKAGE, REFERRAL)["$defs"]["case"]
    return schema


def problems(doc: Any) -> list[Problem]:
    """Return every schema violation in a case body, in a stable order."""
    return schema_problems(PACKAGE, REFERRAL, doc)


def native_fields() -> frozenset[str]:
    """Return the case fields a mapping spec may name."""
    return frozenset(_case()["properties"])


def statuses() -> tuple[str, ...]:
    """Return the values of unaccompanied_separated_status, gravest first, "no" left out.

    Why from the schema: a reason whose Primero code is one of these is written there, any
    other to protection_concerns; the schema is the one place that says which is which.
    """
    values: list[str] = _case()["properties"][STATUS]["enum"]
    return tuple(v for v in values if v != NO_STATUS)


def item_limits() -> dict[str, int]:
    """Return, per list field of a case, how many items the schema allows (maxItems)."""
    return {
        name: node["maxItems"]
        for name, node in _case()["properties"].items()
        if isinstance(node, dict) and "maxItems" in node
    }

"""The register's JSON Schemas: what a body must look like, and which attributes exist.

The schemas describe the wire format, so the attribute names they define are the native
fields a mapping spec may name: a spec naming any other attribute fails when the adapter is
built, and the coverage report (`gateway adapters coverage`) lists the ones it leaves out.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.kit.jsonschema_problems import load_schema, schema_problems
from gateway.errors import Problem

PACKAGE = "hub_adapter_example.schemas"
BIRTH_NOTIFICATION = "birth-notification"
CONFIRMATION = "birth-registration-confirmation"
ROLES = ("newborn", "mother", "father")
"""The notice's person records, by role: structure, never the target of a mapping."""


def problems(message_type: str, doc: Any) -> list[Problem]:
    """Return every schema violation in a body, in a stable order (none when valid)."""
    return schema_problems(PACKAGE, message_type, doc)


def scopes(message_type: str) -> dict[str, frozenset[str]]:
    """Return, per canonical prefix, the attributes that may carry its fields."""
    schema = load_schema(PACKAGE, message_type)
    top = frozenset(schema["properties"])
    if message_type == BIRTH_NOTIFICATION:
        return {
            "birth": top - set(ROLES),
            "person": frozenset(schema["$defs"]["person"]["properties"]),
        }
    return {"registration": top, "person": top}


def rendered_problems(message_type: str, body: bytes) -> list[Problem]:
    """Return what is wrong with a body the adapter wrote, against the register's schema."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [Problem("/", "body is not JSON")]
    return problems(message_type, doc)

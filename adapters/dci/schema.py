"""The DCI JSON Schemas: what a registry's answer or notification must look like."""

from __future__ import annotations

from typing import Any

from adapters.kit.jsonschema_problems import load_schema, schema_problems
from gateway.errors import Problem

PACKAGE = "adapters.dci.schemas"


def problems(message_type: str, doc: Any) -> list[Problem]:
    """Return every schema violation in a body, in a stable order."""
    return schema_problems(PACKAGE, message_type, doc)


def check(message_type: str) -> None:
    """Load a schema now, so a broken one fails when the adapter is built."""
    load_schema(PACKAGE, message_type)

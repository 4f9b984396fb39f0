"""The OpenCRVS JSON Schemas: the parts of an answer the gateway reads, and exactly what it sends.

`birth-registration-confirmation` is loose (OpenCRVS's own bundles are not strict FHIR);
`birth-notification` is the strict STU3 shape of every bundle the renderer writes.
"""

from __future__ import annotations

from typing import Any

from adapters.kit.jsonschema_problems import load_schema, schema_problems
from gateway.errors import Problem

PACKAGE = "adapters.opencrvs.schemas"


def problems(message_type: str, doc: Any) -> list[Problem]:
    """Return every schema violation in a body, in a stable order."""
    return schema_problems(PACKAGE, message_type, doc)


def max_items(message_type: str, where: str) -> int:
    """Return the maxItems of the array a schema defines at a JSON Pointer into the schema.

    Why: the readers take no more items than this, so a bundle of 300,000 entries costs them
    what 200 cost; the schema lists the excess. A pointer that finds no maxItems fails at import.
    """
    node: Any = load_schema(PACKAGE, message_type)
    for part in where.removeprefix("/").split("/"):
        node = node[part]
    limit: int = node["maxItems"]
    return limit

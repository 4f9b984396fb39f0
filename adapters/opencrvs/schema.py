"""The OpenCRVS JSON Schemas: the parts of an answer the gateway reads, and exactly what it sends.

`birth-registration-confirmation` is loose (OpenCRVS's own bundles are not strict FHIR);
`birth-notification` is the strict STU3 shape of every bundle the renderer writes.
"""

from __future__ import annotations

from typing import Any

from adapters.jsonschema_problems import schema_problems
from gateway.errors import Problem


def problems(message_type: str, doc: Any) -> list[Problem]:
    """Return every schema violation in a body, in a stable order."""
    return schema_problems("adapters.opencrvs.schemas", message_type, doc)

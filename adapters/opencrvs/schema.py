"""The OpenCRVS JSON Schemas: the shape of the parts of a message the gateway reads."""

from __future__ import annotations

from typing import Any

from adapters.jsonschema_problems import schema_problems
from gateway.errors import Problem


def problems(message_type: str, doc: Any) -> list[Problem]:
    """Return every schema violation in a body, in a stable order."""
    return schema_problems("adapters.opencrvs.schemas", message_type, doc)

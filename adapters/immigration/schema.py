"""The immigration XSD (schemas/immigration-1.xsd): its root elements, and the native fields
each message type holds, read from the XSD itself so that the two never disagree.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import xmlschema

from adapters.kit.xml import XsdValidator
from gateway.canonical.documents import (
    DOCUMENT_REQUEST,
    DOCUMENT_STATUS,
    DOCUMENT_VALIDITY_ANSWER,
    DOCUMENT_VALIDITY_CHECK,
)
from gateway.errors import ConfigurationError

NAMESPACE = "urn:exchange-hub:immigration:1"
SCHEMA_VERSION = "1.0"  # what render writes; parse reads any 1.x (the XSD's SchemaVersion)
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_FILE = "immigration-1.xsd"
ROOTS = {
    DOCUMENT_REQUEST: "documentRequest",
    DOCUMENT_STATUS: "documentStatus",
    DOCUMENT_VALIDITY_CHECK: "documentValidityCheck",
    DOCUMENT_VALIDITY_ANSWER: "documentValidityAnswer",
}
"""Each message type's root element, in NAMESPACE."""
MESSAGE_TYPES = frozenset(ROOTS)


def tag(local: str) -> str:
    """Return an element name in Clark notation ({namespace}local), as lxml writes it."""
    return f"{{{NAMESPACE}}}{local}"


@cache
def validator() -> XsdValidator:
    """Return the compiled XSD (lxml): the hot path of every parse and every render check."""
    return XsdValidator(SCHEMA_DIR, SCHEMA_FILE)


@cache
def xmlschema_schema() -> Any:
    """Return the XSD as xmlschema reads it, confined to the schema folder (sandbox)."""
    try:
        return xmlschema.XMLSchema(
            str(SCHEMA_DIR / SCHEMA_FILE), allow="sandbox", base_url=str(SCHEMA_DIR)
        )
    except (xmlschema.XMLSchemaException, OSError) as exc:
        raise ConfigurationError(f"schema {SCHEMA_FILE} is invalid: {exc}") from exc


@cache
def native_fields() -> dict[str, frozenset[str]]:
    """Return each message type's native fields: leaf element paths and attributes ('@name').

    Paths are below the root element ('person/birthDate/@estimated'), as mapping specs write
    them; elements that only hold other elements are structure, not fields.
    """
    schema = xmlschema_schema()
    return {
        message_type: frozenset(_leaves(schema.elements[root], ""))
        for message_type, root in ROOTS.items()
    }


def _leaves(element: Any, prefix: str) -> list[str]:
    found = [f"{prefix}@{name}" for name in element.attributes]
    if not element.type.has_complex_content():
        return found
    for child in element.type.content.iter_elements():
        path = prefix + child.local_name
        if not child.type.has_complex_content():
            found.append(path)
        found.extend(_leaves(child, path + "/"))
    return found

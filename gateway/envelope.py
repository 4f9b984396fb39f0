"""Read the exchange envelope from HTTP headers (or CLI options) into the canonical Envelope."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from gateway.canonical import Envelope
from gateway.errors import EnvelopeError, ForbiddenError, validation_problems

# Envelope field -> HTTP header. Idempotency-Key is the IETF draft's name.
HEADERS = {
    "destination": "X-Exchange-Destination",
    "message_type": "X-Exchange-Message-Type",
    "purpose": "X-Exchange-Purpose",
    "legal_basis": "X-Exchange-Legal-Basis",
    "agreement": "X-Exchange-Agreement",
    "best_interests": "X-Exchange-Best-Interests",
    "idempotency_key": "Idempotency-Key",
}
SOURCE_HEADER = "X-Exchange-Source"
ENVELOPE_HEADERS = (*HEADERS.values(), SOURCE_HEADER)


def to_headers(fields: Mapping[str, str | None]) -> dict[str, str]:
    """Write envelope fields (destination, message_type, ...) as the headers that carry them."""
    return {HEADERS[name]: value for name, value in fields.items() if value is not None}


def _header_of(loc: Sequence[Any]) -> str:
    return HEADERS.get(str(loc[0]), str(loc[0])) if loc else "envelope"


def from_headers(headers: Mapping[str, str], caller: str) -> Envelope:
    """Build the envelope; the source is always the authenticated caller."""
    claimed = headers.get(SOURCE_HEADER)
    if claimed is not None and claimed != caller:
        raise ForbiddenError("the caller must be the exchange's source system")
    fields = {name: headers.get(header) for name, header in HEADERS.items()}
    fields = {name: value for name, value in fields.items() if value is not None}
    try:
        return Envelope(source=caller, **fields)
    except ValidationError as exc:
        raise EnvelopeError(
            "the exchange envelope is invalid",
            validation_problems(exc.errors(), _header_of),
        ) from exc

"""Read the exchange envelope from HTTP headers (or CLI options) into the canonical Envelope."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from gateway.canonical import Envelope
from gateway.errors import EnvelopeError, ForbiddenError, Problem

# Envelope field -> HTTP header. Idempotency-Key is the IETF draft's name.
HEADERS = {
    "destination": "X-Exchange-Destination",
    "message_type": "X-Exchange-Message-Type",
    "purpose": "X-Exchange-Purpose",
    "legal_basis": "X-Exchange-Legal-Basis",
    "agreement": "X-Exchange-Agreement",
    "idempotency_key": "Idempotency-Key",
}
SOURCE_HEADER = "X-Exchange-Source"
ENVELOPE_HEADERS = (*HEADERS.values(), SOURCE_HEADER)


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
            [
                Problem(
                    HEADERS.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else "envelope",
                    e["msg"],
                )
                for e in exc.errors()
            ],
        ) from exc

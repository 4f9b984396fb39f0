"""Deterministic ids for rendered resources.

Why not uuid4: the same canonical payload must render to the same bytes, so that a retry
or a replay is recognisably the same message (idempotency keys and payload digests agree)
and the registry does not see two births. Each fullUrl is a uuid5 over a digest of the
canonical payload and the resource's role in the bundle.
"""

from __future__ import annotations

import hashlib
import uuid

from pydantic import BaseModel

from gateway.canonical.json import canonical_json

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:exchange-gateway:adapters:opencrvs")


def digest(payload: BaseModel) -> str:
    """Return the SHA-256 of a payload's canonical bytes (sorted keys, no whitespace, UTF-8)."""
    return hashlib.sha256(canonical_json(payload.model_dump(mode="json"))).hexdigest()


class Ids:
    """Hand out one stable urn:uuid per role ("composition", "child", ...) in one bundle."""

    def __init__(self, payload: BaseModel) -> None:
        self._digest = digest(payload)

    def uuid(self, role: str) -> str:
        """Return the uuid5 in NAMESPACE named `<digest>/<role>`."""
        return str(uuid.uuid5(NAMESPACE, f"{self._digest}/{role}"))

    def urn(self, role: str) -> str:
        return f"urn:uuid:{self.uuid(role)}"

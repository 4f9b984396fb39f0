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

from gateway.crypto import canonical_json

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:exchange-gateway:adapters:opencrvs")


def digest(payload: BaseModel) -> str:
    """Return the SHA-256 of a payload's canonical bytes (sorted keys, no whitespace, UTF-8)."""
    return hashlib.sha256(canonical_json(payload.model_dump(mode="json"))).hexdigest()


def _uuid5(sha1_hex: str) -> str:
    """Spell a name's SHA-1 as `str(uuid.uuid5(...))` does (RFC 9562, 5.5), without UUID
    objects: its first 128 bits, version 5 in the high nibble of octet 6, variant 0b10 in the
    top bits of octet 8.
    """
    h = sha1_hex
    variant = "89ab"[int(h[16], 16) & 0b11]
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


class Ids:
    """Hand out one stable urn:uuid per role ("composition", "child", ...) in one bundle."""

    def __init__(self, payload: BaseModel) -> None:
        # Every name starts with the digest: hash that prefix once, then each role's tail.
        self._prefix = hashlib.sha1(NAMESPACE.bytes + f"{digest(payload)}/".encode())

    def uuid(self, role: str) -> str:
        """Return `str(uuid.uuid5(NAMESPACE, f"{digest}/{role}"))`."""
        sha1 = self._prefix.copy()
        sha1.update(role.encode())
        return _uuid5(sha1.hexdigest())

    def urn(self, role: str) -> str:
        return f"urn:uuid:{self.uuid(role)}"

"""Build exchange records.

A record says who sent what kind of data about whom (pseudonyms), to whom, why, under which
rule, and with what result: never a name, a birth date or a document number. Its leaf hash
is SHA-256 over the canonical JSON of every field but the hash itself, so the record can
become a leaf of a Merkle tree without changing shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from gateway.crypto import canonical_json, sha256_hex
from gateway.ids import new_id

ALLOWED, DENIED, INVALID = "allowed", "denied", "invalid"


@dataclass
class Attempt:
    """What is known about an attempt so far; filled in as it walks the pipeline."""

    id: str = field(default_factory=new_id)
    recorded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    source: str | None = None
    destination: str | None = None
    destination_jurisdiction: str | None = None
    message_type: str | None = None
    purpose: str | None = None
    legal_basis: str | None = None
    agreement: str | None = None
    subjects: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    decision: str = INVALID
    reasons: list[str] = field(default_factory=list)
    policy_version: str | None = None
    policy_rule: str | None = None
    mapping_version: str | None = None
    request_digest: str | None = None
    payload_digest: str | None = None

    def fields(self) -> dict[str, Any]:
        """Return the fields as a new dict (a shallow copy: lists are copied, not shared)."""
        return {
            name: list(value) if isinstance(value, list) else value
            for name, value in ((f, getattr(self, f)) for f in _FIELD_NAMES)
        }

    def leaf(self) -> dict[str, object]:
        """Return the record's fields as the canonical leaf content."""
        content = self.fields()
        content["recorded_at"] = self.recorded_at.astimezone(dt.UTC).isoformat()
        return content

    def leaf_hash(self) -> str:
        """Return SHA-256 over the canonical JSON of the record (format version 1)."""
        return sha256_hex(canonical_json({"v": 1, **self.leaf()}))

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> Attempt:
        """Rebuild a record from stored fields, e.g. to check a stored leaf hash."""
        return cls(**{name: stored[name] for name in _FIELD_NAMES})


_FIELD_NAMES = tuple(f.name for f in fields(Attempt))

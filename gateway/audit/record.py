"""The exchange record: one per attempt, built once, when the attempt's outcome is known.

A record says who sent what kind of data about whom (pseudonyms), to whom, why, under which
rule, and with what result: never a name, a birth date or a document number. It is a leaf
of the exchange log's Merkle tree (gateway/audit/log.py): its leaf bytes are the canonical
JSON (gateway/canonical/json.py) of `{"v": 1, ...every field}`, `recorded_at` in ISO 8601
UTC; its leaf hash is RFC 9162's, SHA-256(0x00 || leaf bytes). docs/log.md spells it out for
anyone who recomputes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from gateway.audit import merkle
from gateway.canonical import Envelope
from gateway.canonical.json import canonical_json

ALLOWED, DENIED, INVALID = "allowed", "denied", "invalid"
LEAF_FORMAT = 1


@dataclass(frozen=True)
class Record:
    """An exchange record; the field order is the leaf's (see `leaf`)."""

    id: str
    recorded_at: dt.datetime
    source: str | None
    destination: str | None
    destination_jurisdiction: str | None
    message_type: str | None
    purpose: str | None
    legal_basis: str | None
    agreement: str | None
    subjects: tuple[str, ...]
    categories: tuple[str, ...]
    decision: str
    reasons: tuple[str, ...]
    policy_version: str | None
    policy_rule: str | None
    mapping_version: str | None
    request_digest: str | None
    payload_digest: str | None

    def fields(self) -> dict[str, Any]:
        """Return the fields as a new dict, sequences as lists (the stored row's shape)."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in ((f, getattr(self, f)) for f in FIELD_NAMES)
        }

    def leaf(self) -> dict[str, object]:
        """Return the record's fields as the canonical leaf content."""
        content = self.fields()
        content["recorded_at"] = self.recorded_at.astimezone(dt.UTC).isoformat()
        return content

    def leaf_entry(self) -> dict[str, object]:
        """Return the log entry: the record's fields with the leaf format version."""
        return {"v": LEAF_FORMAT, **self.leaf()}

    def leaf_bytes(self) -> bytes:
        """Return the leaf bytes of the Merkle tree: the entry's canonical JSON."""
        return canonical_json(self.leaf_entry())

    def leaf_hash(self) -> str:
        """Return the RFC 9162 leaf hash, hex: SHA-256(0x00 || leaf bytes)."""
        return merkle.leaf_hash(self.leaf_bytes()).hex()

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> Record:
        """Rebuild a record from stored fields, e.g. to check a stored leaf hash."""
        values: dict[str, Any] = {
            name: tuple(value) if isinstance(value, list) else value
            for name, value in ((f, stored[f]) for f in FIELD_NAMES)
        }
        return cls(**values)


def build(
    *,
    exchange_id: str,
    recorded_at: dt.datetime,
    source: str | None,
    request_digest: str | None,
    decision: str,
    reasons: Iterable[str],
    envelope: Envelope | None = None,
    destination_jurisdiction: str | None = None,
    mapping_version: str | None = None,
    subjects: Iterable[str] = (),
    categories: Iterable[str] = (),
    policy_version: str | None = None,
    policy_rule: str | None = None,
    payload_digest: str | None = None,
    agreement: str | None = None,
) -> Record:
    """Build the record of an attempt from what was read of it and what became of it.

    `agreement` is the agreement version the decision cited ("id@v2"), when there was one.
    """
    return Record(
        id=exchange_id,
        recorded_at=recorded_at,
        source=source,
        destination=None if envelope is None else envelope.destination,
        destination_jurisdiction=destination_jurisdiction,
        message_type=None if envelope is None else envelope.message_type,
        purpose=None if envelope is None else envelope.purpose,
        legal_basis=None if envelope is None else envelope.legal_basis.value,
        # The version the decision relied on; else what the envelope named.
        agreement=agreement or (None if envelope is None else envelope.agreement),
        subjects=tuple(subjects),
        categories=tuple(sorted(categories)),
        decision=decision,
        reasons=tuple(reasons),
        policy_version=policy_version,
        policy_rule=policy_rule,
        mapping_version=mapping_version,
        request_digest=request_digest,
        payload_digest=payload_digest,
    )


FIELD_NAMES = tuple(f.name for f in fields(Record))

"""Synthetic exchange logs for tests/audit: record-shaped entries, signed checkpoints, exports.

The entries are real records (gateway.audit.record.build), with the shapes and values the
gateway writes (pseudonyms, digests, denials with reasons), so the export lines have the
length and variety of a real log.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable, Sequence
from typing import Any

from gateway.audit import merkle
from gateway.audit.checkpoint import Checkpoint, Signer, sign, signer_for
from gateway.audit.export import Header, write_export
from gateway.audit.record import ALLOWED, DENIED, INVALID, Record
from gateway.canonical.json import canonical_json

ORIGIN = "exchange-gateway.example/log"
MASTER = b"tests/audit master secret, 32+ bytes long"

_SYSTEMS = ["unhcr-progres", "crvs-national", "embassy-ssd", "moi-immigration"]
_TYPES = ["birth-notification", "birth-registration", "death-notification"]
_CATEGORIES = ["birth", "identity", "parents", "nationality", "location", "health"]


def signer(generation: int = 1) -> Signer:
    return signer_for(MASTER, generation, ORIGIN)


def entries(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """Return `count` record leaves ({"v": 1, **record.leaf()}), reproducibly from `seed`."""
    rng = random.Random(seed)
    start = dt.datetime(2025, 3, 2, 8, 0, tzinfo=dt.UTC)
    out = []
    for i in range(count):
        decision = rng.choice([ALLOWED, ALLOWED, ALLOWED, DENIED, INVALID])
        source, destination = rng.sample(_SYSTEMS, 2)
        allowed = decision == ALLOWED
        record = Record(
            id=f"ex_{rng.getrandbits(128):032x}",
            recorded_at=start + dt.timedelta(seconds=i * 3, microseconds=rng.randrange(10**6)),
            source=source,
            destination=None if decision == INVALID else destination,
            destination_jurisdiction=rng.choice(["KEN", "SSD", "UGA"]),
            message_type=None if decision == INVALID else rng.choice(_TYPES),
            purpose=None if decision == INVALID else "birth-registration",
            legal_basis=None if decision == INVALID else "consent",
            agreement=rng.choice([None, "unhcr-crvs-2024"]),
            subjects=tuple(f"ps_{rng.getrandbits(128):032x}" for _ in range(rng.randrange(1, 4))),
            categories=tuple(sorted(rng.sample(_CATEGORIES, rng.randrange(0, 4)))),
            decision=decision,
            reasons=() if allowed else (rng.choice(["origin.risk_country", "consent.missing"]),),
            policy_version="2025.03.1",
            policy_rule="birth-to-civil-registry" if allowed else None,
            mapping_version="progres-opencrvs@1.4.0" if allowed else None,
            request_digest="sha256:" + rng.randbytes(32).hex(),
            payload_digest="sha256:" + rng.randbytes(32).hex() if allowed else None,
        )
        out.append({"v": 1, **record.leaf()})
    return out


def checkpoints(
    leaves: Sequence[dict[str, Any]],
    sizes: Sequence[int],
    signers_at: Callable[[int], Sequence[Signer]] = lambda size: [signer()],
) -> list[str]:
    """Return signed checkpoints of the log of `leaves` at each of `sizes` (increasing)."""
    tree = merkle.CompactRange()
    notes = []
    wanted = iter(sizes)
    size = next(wanted, None)
    for i in range(len(leaves) + 1):
        while size == i:
            notes.append(sign(Checkpoint(ORIGIN, i, tree.root()), *signers_at(i)))
            size = next(wanted, None)
        if i < len(leaves):
            tree.add(merkle.leaf_hash(canonical_json(leaves[i])))
    return notes


def export(
    leaves: Sequence[dict[str, Any]],
    notes: Sequence[str],
    keys: Sequence[str] = (),
) -> bytes:
    out = io.BytesIO()
    write_export(out, Header(ORIGIN, tuple(keys) or (str(signer().verifier_key),)), leaves, notes)
    return out.getvalue()


def every(step: int, count: int) -> list[int]:
    """Checkpoint sizes every `step` entries, and one at the end."""
    sizes = list(range(step, count + 1, step))
    return sizes if sizes and sizes[-1] == count else [*sizes, count]

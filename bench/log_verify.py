"""How fast the offline verifier checks an exchange-log export, and how fast proofs are built.

Writes an export of 1,000,000 record-shaped entries (about 800 bytes a line, as the gateway's
records are) with a signed checkpoint every 1,000, through the real writer, to a temporary
file; then times `verify_export` over it, as a data protection officer would run it, and
again with every entry parsed as JSON too. Last, it times inclusion and consistency proofs
at that size built from a dict of the stored nodes (what the API does after its one query).
The goal (300,000 entries/s) is a figure printed, not the exit status.

Usage: python -m bench.log_verify [--entries N] [--every K] [--rounds R]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from gateway.audit import merkle
from gateway.audit.checkpoint import Checkpoint, sign, signer_for
from gateway.audit.export import Header, write_export
from gateway.audit.verify import verify_export
from gateway.canonical.json import canonical_json

GOAL = 300_000  # entries/s, the whole verification
ORIGIN = "exchange-gateway.example/log"


def entries(count: int) -> Iterator[dict[str, Any]]:
    """Record leaves ({"v": 1, **record.leaf()}) with varied ids, pseudonyms and digests."""
    systems = ["unhcr-progres", "crvs-national", "embassy-ssd", "moi-immigration"]
    for i in range(count):
        h = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
        allowed = i % 5 < 3
        yield {
            "v": 1,
            "id": f"ex_{h[:32]}",
            "recorded_at": f"2025-03-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:"
            f"{i // 60 % 60:02d}:{i % 60:02d}.{i % 999983:06d}+00:00",
            "source": systems[i % 4],
            "destination": systems[(i + 1) % 4],
            "destination_jurisdiction": ["KEN", "SSD", "UGA"][i % 3],
            "message_type": "birth-notification",
            "purpose": "birth-registration",
            "legal_basis": "consent",
            "agreement": "unhcr-crvs-2024" if i % 2 else None,
            "subjects": [f"ps_{h[32:64]}", f"ps_{h[:16]}{h[48:64]}"][: 1 + i % 2],
            "categories": ["birth", "identity", "parents"][: i % 4],
            "decision": "allowed" if allowed else "denied",
            "reasons": [] if allowed else ["origin.risk_country"],
            "policy_version": "2025.03.1",
            "policy_rule": "birth-to-civil-registry" if allowed else None,
            "mapping_version": "progres-opencrvs@1.4.0" if allowed else None,
            "request_digest": f"sha256:{h}",
            "payload_digest": f"sha256:{h[::-1]}" if allowed else None,
        }


def write(path: str, count: int, every: int) -> list[bytes]:
    """Write the export; return the leaf hashes (for the proof timings)."""
    signer = signer_for(b"bench master secret", 1, ORIGIN)
    tree = merkle.CompactRange()
    hashes: list[bytes] = []
    notes = []
    for entry in entries(count):
        value = merkle.leaf_hash(canonical_json(entry))
        hashes.append(value)
        tree.add(value)
        if tree.size % every == 0 or tree.size == count:
            notes.append(sign(Checkpoint(ORIGIN, tree.size, tree.root()), signer))
    with open(path, "wb") as out:
        write_export(out, Header(ORIGIN, (str(signer.verifier_key),)), entries(count), notes)
    return hashes


def time_verify(path: str, count: int, rounds: int, parse: bool) -> tuple[float, float]:
    """Return the median rates by wall clock and by CPU time.

    Both, because on a shared machine the wall clock also counts the time other processes
    held the CPU; the CPU-time rate is the verifier's own.
    """
    key = signer_for(b"bench master secret", 1, ORIGIN).verifier_key
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        verdict = verify_export(path, [key], parse_entries=parse)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if not verdict.ok:
            raise SystemExit("\n".join(verdict.lines()))
        assert verdict.entries == count
        walls.append(count / wall)
        cpus.append(count / cpu)
        print(
            f"  {count / wall:>10,.0f} entries/s by the wall clock ({wall:5.2f} s),"
            f" {count / cpu:>10,.0f} by CPU time ({cpu:5.2f} s)"
        )
    return statistics.median(walls), statistics.median(cpus)


def time_proofs(hashes: list[bytes]) -> None:
    size = len(hashes)
    started = time.perf_counter()
    nodes = merkle.append(0, [], hashes).nodes
    print(f"stored nodes of {size:,} leaves built in {time.perf_counter() - started:.1f} s")
    rng = random.Random(1)
    root = merkle.root_of(hashes)
    indexes = [rng.randrange(size) for _ in range(2000)]
    started = time.perf_counter()
    proofs = [
        merkle.inclusion_proof(i, size, {n: nodes[n] for n in merkle.inclusion_nodes(i, size)})
        for i in indexes
    ]
    per = (time.perf_counter() - started) / len(indexes)
    print(
        f"inclusion proof at {size:,} (nodes named, fetched from a dict, built): {per * 1e6:.1f} µs"
    )
    started = time.perf_counter()
    assert all(
        merkle.verify_inclusion(hashes[i], i, size, p, root)
        for i, p in zip(indexes, proofs, strict=True)
    )
    per = (time.perf_counter() - started) / len(indexes)
    print(f"inclusion proof verified: {per * 1e6:.1f} µs")
    olds = [rng.randrange(1, size) for _ in range(2000)]
    started = time.perf_counter()
    for old in olds:
        merkle.consistency_proof(
            old, size, {n: nodes[n] for n in merkle.consistency_nodes(old, size)}
        )
    per = (time.perf_counter() - started) / len(olds)
    print(f"consistency proof at {size:,}: {per * 1e6:.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=1_000, help="entries between checkpoints")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "log.jsonl")
        started = time.perf_counter()
        hashes = write(path, args.entries, args.every)
        size = os.path.getsize(path)
        print(
            f"export: {args.entries:,} entries, a checkpoint every {args.every:,},"
            f" {size / 1e6:,.0f} MB ({size / args.entries:.0f} bytes a line), written in"
            f" {time.perf_counter() - started:.1f} s"
        )
        print("verify_export (every leaf hashed, every checkpoint's signature and root):")
        rate = time_verify(path, args.entries, args.rounds, parse=False)
        print("verify_export with parse_entries=True (each entry parsed and re-encoded too):")
        parsed = time_verify(path, args.entries, args.rounds, parse=True)
    time_proofs(hashes)
    wall, cpu = rate
    print(
        f"\nverification, median of {args.rounds}: {wall:,.0f} entries/s by the wall clock,"
        f" {cpu:,.0f} by CPU time ({'met' if cpu >= GOAL else 'short of'} the goal of"
        f" {GOAL:,}/s); with entries parsed: {parsed[0]:,.0f} and {parsed[1]:,.0f}"
    )
    print(f"load average during the run: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

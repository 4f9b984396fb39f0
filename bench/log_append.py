"""How fast the exchange log seals records, and how long an inclusion proof takes as it grows.

For SQLite (a temporary file) and PostgreSQL (a scratch database), in one run: writes N
exchange records as the exchange path does, then times the appender sealing them all
(`TransparencyLog.append_all`: batches of 10,000, one signed checkpoint each, committed and
synced), and last times inclusion proofs served from the store at growing tree sizes (one
query for the nodes, then the path). Goals, printed, not the exit status: sealing at
>= 20,000 entries/s; an inclusion proof under 1 ms at 1,000,000 entries, and flat.

Usage: python -m bench.log_append [--entries N] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.figures import Unavailable
from bench.scratch_database import scratch_database
from gateway.audit import repository
from gateway.audit.log import TransparencyLog
from gateway.audit.record import Record, build
from gateway.store.db import Database, migrate

APPEND_GOAL = 20_000  # entries/s
PROOF_GOAL_MS = 1.0
START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def records(count: int) -> Iterator[Record]:
    systems = ["unhcr-progres", "crvs-national", "embassy-ssd"]
    for n in range(count):
        yield build(
            exchange_id=str(uuid.UUID(int=n + 1)),
            recorded_at=START + dt.timedelta(milliseconds=n),
            source=systems[n % 3],
            request_digest=f"{n:064x}",
            decision="allowed" if n % 4 else "denied",
            reasons=["allowed"] if n % 4 else ["origin.risk_country"],
            subjects=[f"ps_{n:032x}", f"ps_{n + 1:032x}"],
            categories=["birth", "family", "identity"],
        )


def write_records(db: Database, count: int) -> float:
    started = time.perf_counter()
    chunk: list[Record] = []
    for found in records(count):
        chunk.append(found)
        if len(chunk) == 10_000:
            _write(db, chunk)
            chunk = []
    if chunk:
        _write(db, chunk)
    return time.perf_counter() - started


def _write(db: Database, chunk: list[Record]) -> None:
    statement, _ = repository.writes(chunk[0])[0]
    rows = [row for found in chunk for row in repository.writes(found)[0][1]]
    with db.transaction() as connection:
        connection.execute(statement, rows)


def proof_ms(log: TransparencyLog, size: int, samples: int = 200) -> float:
    chosen = random.Random(size)
    times = []
    for _ in range(samples):
        index = chosen.randrange(size)
        started = time.perf_counter()
        log.inclusion(index, size)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
    else:
        with scratch_database() as url:
            yield url


def run(kind: str, count: int) -> None:
    with database(kind) as url:
        db = Database.connect(url)
        try:
            migrate(db.engine)
            log = TransparencyLog(db, b"bench master secret", "bench.example/log")
            written = write_records(db, count)
            started = time.perf_counter()
            sealed = log.append_all()
            seconds = time.perf_counter() - started
            rate = sealed / seconds
            print(
                f"{kind:<10} wrote {count:,} records in {written:.1f} s; sealed {sealed:,} in "
                f"{seconds:.2f} s: {rate:,.0f} entries/s (goal {APPEND_GOAL:,}: "
                f"{'met' if rate >= APPEND_GOAL else 'short'})"
            )
            sizes = sorted({max(1, count // 1000), max(1, count // 100), count // 10, count})
            figures = [(size, proof_ms(log, size)) for size in sizes if size > 0]
            shown = ", ".join(f"{size:,}: {ms:.3f} ms" for size, ms in figures)
            print(f"{kind:<10} inclusion proof from the store, median: {shown}")
        finally:
            db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    arguments = parser.parse_args()
    for kind in [arguments.only] if arguments.only else ["sqlite", "postgresql"]:
        try:
            run(kind, arguments.entries)
        except Unavailable as reason:
            print(f"{kind:<10} not measured: {reason}")


if __name__ == "__main__":
    main()

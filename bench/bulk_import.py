"""A bulk import of legacy rows, killed with SIGKILL midway, resumed, verified; rows/s and memory.

One run, on SQLite (the embedded default) in a directory made for it:
1. writes an export of N synthetic legacy rows (CSV; one in 200 with a code no list knows);
2. measures the in-process mapping rate: the same rows parsed and rendered by the adapters
   alone (legacy row -> canonical Registration -> proGres individual), without the road;
3. runs `gateway import`'s own code (gateway/cli_import.py `run_import`) in a child process,
   kills it with SIGKILL once about half the rows are committed, and runs it again, which
   resumes after the last committed row;
4. verifies that every row of the file has exactly one row record and one exchange record of
   its own, and that the counts add up; prints rows/s and peak memory (VmHWM, the resident
   high-water mark) per run.

The figures are printed, not asserted; the exit status is non-zero only if the verification
fails. Usage: python -m bench.bulk_import [--rows N] [--batch-rows B] [--kill-at FRACTION]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

from sqlalchemy import func, select

from adapters.legacy import LegacyRegistrationAdapter, samples
from adapters.progres import ProgresAdapter
from adapters.registry import AdapterRegistry
from gateway import systems
from gateway.bulk.service import BATCH_ROWS, BulkImports, ImportRequest
from gateway.canonical.json import canonical_json
from gateway.canonical.registration import REGISTRATION
from gateway.config import Settings
from gateway.runtime import Runtime
from gateway.store.models import BulkImportJob, BulkImportRow, ExchangeRecord, OutboxMessage
from gateway.systems import SystemSpec

SOURCE, DESTINATION = "legacy-rapp", "progres-v4"
PURPOSE, BASIS, AGREEMENT = "registration-migration", "public-interest", "legacy-migration"
CATEGORIES = "identity|nationality|identifiers|legal_status"
RULES = f"""
p, {SOURCE}, {DESTINATION}, {REGISTRATION}, {PURPOSE}, {BASIS}, {CATEGORIES}
"""
AGREEMENTS = f"""
[[agreement]]
id = "{AGREEMENT}"
version = 1
title = "Migration of the retired registration tool's records"
parties = ["{SOURCE}", "{DESTINATION}"]
purposes = ["{PURPOSE}"]
categories = ["identity", "nationality", "identifiers", "legal_status"]
legal_bases = ["{BASIS}"]
valid_from = 2024-01-01
onward_transfer = "forbidden"
"""
BAD_EVERY = 200


def settings_for(folder: Path) -> Settings:
    policy = folder / "policy"
    policy.mkdir(exist_ok=True)
    (policy / "model.conf").write_bytes(files("policies").joinpath("model.conf").read_bytes())
    (policy / "default.csv").write_text(RULES)
    (policy / "agreements.toml").write_text(AGREEMENTS)
    return Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'gateway.db'}",
        host_jurisdiction="KEN",
        policy_dir=policy,
        log_level="warning",
    )


def registry() -> AdapterRegistry:
    return AdapterRegistry.from_factories(
        {"legacy-registration": LegacyRegistrationAdapter, "progres": ProgresAdapter}
    )


def request(path: Path) -> ImportRequest:
    return ImportRequest(
        path=path,
        source=SOURCE,
        destination=DESTINATION,
        purpose=PURPOSE,
        legal_basis=BASIS,
        agreement=AGREEMENT,
    )


def child(folder: Path, path: Path, batch_rows: int) -> None:
    """Run one import as `gateway import` does, then print this run's figures as JSON."""
    runtime = Runtime.build(settings_for(folder), adapters=registry())
    try:
        imports = BulkImports(runtime.exchanges, batch_rows)
        prepared = imports.prepare(request(path))
        started, cpu = time.perf_counter(), time.process_time()
        summary = imports.run(prepared)
        figures = {
            "rows": summary.progress.rows_done - summary.resumed_from,
            "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu,
            "peak_mb": peak_mb(os.getpid()),
        }
        print(json.dumps(figures), flush=True)
    finally:
        runtime.close()


def peak_mb(pid: int) -> float:
    """Return a process's peak resident memory (VmHWM) in MB.

    Why not ru_maxrss from wait4: a child's figure there includes what it held as a fork of
    this process before it exec'd Python anew, so it measures the parent.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc (Linux only)")


def set_up(folder: Path, rows: int) -> Path:
    runtime = Runtime.build(settings_for(folder), adapters=registry())
    try:
        with runtime.db.unit_of_work() as session:
            systems.register(
                session,
                SystemSpec(id=SOURCE, name="Retired tool", adapter="legacy-registration"),
                runtime.sealer,
            )
            destination = SystemSpec(
                id=DESTINATION,
                name="proGres v4",
                adapter="progres",
                endpoint="http://127.0.0.1:9/",
                jurisdiction="UNO",
            )
            systems.register(session, destination, runtime.sealer)
    finally:
        runtime.close()
    path = folder / "export.csv"
    bad = {"Sex": "Q"}
    samples.write_csv(
        path, (samples.row(n) | (bad if n % BAD_EVERY == 0 else {}) for n in range(1, rows + 1))
    )
    return path


def mapping_rate(rows: int) -> float:
    """Parse and render the same rows with the adapters alone: rows/s in this process."""
    legacy, progres = registry().get("legacy-registration"), registry().get("progres")
    bodies = [canonical_json({k: v for k, v in samples.row(n).items() if v}) for n in range(rows)]
    started = time.perf_counter()
    for body in bodies:
        progres.render(REGISTRATION, legacy.parse(REGISTRATION, body))
    return rows / (time.perf_counter() - started)


def run_child(folder: Path, path: Path, batch_rows: int, kill_at: int | None) -> dict[str, float]:
    """Run an import child; kill it with SIGKILL once `kill_at` rows are committed (if given)."""
    command = [sys.executable, "-m", "bench.bulk_import", "--child", str(folder), str(path)]
    process = subprocess.Popen([*command, str(batch_rows)], stdout=subprocess.PIPE)
    killed_at, peak = None, 0.0
    if kill_at is not None:
        runtime = Runtime.build(settings_for(folder), adapters=registry())
        try:
            while process.poll() is None:
                with runtime.db.reading() as session:
                    done = session.scalar(select(func.max(BulkImportJob.rows_done))) or 0
                if done >= kill_at:
                    peak = peak_mb(process.pid)
                    os.kill(process.pid, signal.SIGKILL)
                    killed_at = done
                    break
                time.sleep(0.05)
        finally:
            runtime.close()
    output = process.stdout.read() if process.stdout else b""
    status = process.wait()
    figures: dict[str, float] = json.loads(output) if output.strip() else {"peak_mb": peak}
    figures["killed_at"] = -1 if killed_at is None else killed_at
    figures["status"] = status
    return figures


def verify(folder: Path, rows: int) -> dict[str, int]:
    """Check that each file row has exactly one row record and one exchange; return counts."""
    runtime = Runtime.build(settings_for(folder), adapters=registry())
    try:
        with runtime.db.reading() as session:
            lines = session.scalars(select(BulkImportRow.row_no).order_by(BulkImportRow.row_no))
            assert list(lines) == list(range(2, rows + 2)), "a row is missing or twice"
            distinct = session.scalar(select(func.count(func.distinct(BulkImportRow.exchange_id))))
            joined = session.scalar(
                select(func.count())
                .select_from(BulkImportRow)
                .join(ExchangeRecord, ExchangeRecord.id == BulkImportRow.exchange_id)
            )
            records = session.scalar(
                select(func.count())
                .select_from(ExchangeRecord)
                .where(ExchangeRecord.source == SOURCE)
            )
            queued = session.scalar(select(func.count()).select_from(OutboxMessage))
            job = session.scalars(select(BulkImportJob)).one()
        assert distinct == joined == records == rows, (distinct, joined, records, rows)
        assert job.accepted + job.invalid + job.denied == rows == job.rows_done
        assert queued == job.accepted and job.invalid == rows // BAD_EVERY
        return {"accepted": job.accepted, "denied": job.denied, "invalid": job.invalid}
    finally:
        runtime.close()


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    parser.add_argument("--kill-at", type=float, default=0.5, help="fraction of rows")
    parser.add_argument("--mapping-rows", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = set_up(folder, args.rows)
        size = path.stat().st_size / 1e6
        print(f"{args.rows:,} legacy rows, {size:.1f} MB CSV; SQLite in {folder}", flush=True)
        mapping = mapping_rate(args.mapping_rows)
        print(f"mapping alone (parse + render, in process): {mapping:,.0f} rows/s", flush=True)
        first = run_child(folder, path, args.batch_rows, int(args.rows * args.kill_at))
        print(
            f"first run: SIGKILL after {first['killed_at']:,.0f} rows committed"
            f" (peak memory {first['peak_mb']:,.0f} MB)",
            flush=True,
        )
        second = run_child(folder, path, args.batch_rows, None)
        counts = verify(folder, args.rows)
    rate = second["rows"] / second["seconds"]
    cpu_rate = second["rows"] / second["cpu_seconds"]
    print(
        f"resumed run: {second['rows']:,.0f} rows in {second['seconds']:.1f} s"
        f" (peak memory {second['peak_mb']:,.0f} MB)"
    )
    print(f"verified: every row decided once; {counts}")
    print()
    print("| figure | value | goal |")
    print("|---|---|---|")
    print(
        f"| whole road, resumed run (parse, decide, record, queue) | {rate:,.0f} rows/s | 2,000 |"
    )
    print(f"| same, per CPU second of the importing process | {cpu_rate:,.0f} rows/s | |")
    print(f"| mapping alone (parse + render), same rows | {mapping:,.0f} rows/s | |")
    peak = max(first["peak_mb"], second["peak_mb"])
    print(f"| peak memory of an importing process (VmHWM) | {peak:,.0f} MB | < 300 MB |")
    print(f"| batch | {args.batch_rows} rows per transaction | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

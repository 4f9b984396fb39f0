"""An import killed with SIGKILL midway resumes and finishes with every row decided once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from adapters.legacy import samples
from gateway.bulk.service import BulkImports
from gateway.config import Settings
from gateway.runtime import Runtime
from gateway.store.models import BulkImportJob
from tests.bulk import world
from tests.bulk.test_import import every_row_once, table_counts

ROWS = {"sqlite": 2000, "postgresql": 600}
"""Rows per database: each row's exchange makes several round trips, slower to a server."""


def rows_done(runtime: Runtime) -> int:
    with runtime.db.reading() as session:
        return max(session.scalars(select(BulkImportJob.rows_done)).all(), default=0)


def test_an_import_killed_midway_resumes_and_decides_every_row_once(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    rows = ROWS[runtime.db.engine.dialect.name]
    path = tmp_path / "export.csv"
    bad = {n: {"Sex": "Q"} for n in range(1, rows + 1, 97)}
    samples.write_csv(path, (samples.row(n) | bad.get(n, {}) for n in range(1, rows + 1)))
    command = [sys.executable, "-m", "tests.bulk.importer", str(tmp_path)]
    command += [settings.resolved_database_url, str(path), "50"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while (
            rows_done(runtime) < rows // 4 and child.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.01)
        exited_early = child.poll() is not None
        child.kill()
    finally:
        output = child.communicate(timeout=60)[0].decode()
    assert not exited_early, f"the import ended ({child.returncode}) before the kill:\n{output}"
    assert child.returncode == -signal.SIGKILL, output
    interrupted = rows_done(runtime)
    assert rows // 4 <= interrupted < rows, output

    imports = BulkImports(runtime.exchanges)
    prepared = imports.prepare(world.request(path))
    summary = imports.run(prepared)

    assert prepared.resumed and summary.resumed_from == interrupted
    done = summary.progress
    assert done.rows_done == rows
    assert (done.accepted, done.invalid, done.denied) == (rows - len(bad), len(bad), 0)
    every_row_once(runtime, summary.job_id, list(range(2, rows + 2)))
    assert table_counts(runtime)["outbox"] == rows - len(bad)

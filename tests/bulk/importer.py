"""Run one import in a process of its own, as `gateway import` does (the kill -9 test).

Usage: python -m tests.bulk.importer DATA_DIR DATABASE_URL FILE [BATCH_ROWS]
"""

from __future__ import annotations

import sys
from pathlib import Path

from gateway.bulk.service import BulkImports
from gateway.config import Settings
from tests.bulk import world


def main(data_dir: str, database_url: str, file: str, batch_rows: str = "200") -> None:
    settings = Settings(data_dir=Path(data_dir), database_url=database_url, host_jurisdiction="KEN")
    runtime = world.build(settings)
    try:
        imports = BulkImports(runtime.exchanges, int(batch_rows))
        prepared = imports.prepare(world.request(Path(file)))
        print(f"prepared {prepared.job.id}", flush=True)
        summary = imports.run(prepared)
        print(f"done {summary.progress.rows_done}", flush=True)
    finally:
        runtime.close()


if __name__ == "__main__":
    main(*sys.argv[1:])

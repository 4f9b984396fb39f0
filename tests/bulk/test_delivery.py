"""Rows an import accepted are delivered like any other exchange: by the relay, to a real server."""

from __future__ import annotations

from pathlib import Path

from adapters.legacy import samples
from gateway.bulk.service import BulkImports
from gateway.config import Settings
from gateway.demo.flow import wait_for
from gateway.demo.standins import StandIn
from tests.bulk import world


def test_accepted_rows_reach_progres_as_progres_individuals(
    settings: Settings, tmp_path: Path
) -> None:
    progres = StandIn("progres").start()
    runtime = world.build(settings)
    try:
        world.register(runtime, progres.url)
        path = tmp_path / "export.csv"
        samples.write_csv(path, samples.rows(5))
        imports = BulkImports(runtime.exchanges)
        summary = imports.run(imports.prepare(world.request(path)))
        runtime.start_relay()

        assert summary.progress.accepted == 5
        assert wait_for(lambda: len(progres.received) == 5)
    finally:
        runtime.close()
        progres.stop()
    bodies = [received.json() for received in progres.received]
    assert {body["individual"]["progres_givenname"] for body in bodies} == {
        samples.row(n)["GivenName"] for n in range(1, 6)
    }
    # Minimum data: specific needs were in the export, and no rule lets them go.
    assert not any("progres_specificneeds" in body["individual"] for body in bodies)
    keys = {received.headers["Idempotency-Key"] for received in progres.received}
    assert len(keys) == 5

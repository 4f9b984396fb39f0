"""`gateway serve --workers 2`: two processes, one database and one outbox; every exchange is
recorded once and delivered once, though both workers' relays drain the same outbox."""

from __future__ import annotations

import gc
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from gateway.api.app import from_environment, serve
from gateway.audit.log import TransparencyLog
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, REGISTRATION, DemoEnvironment, wait_for
from gateway.runtime import Runtime
from gateway.store.db import Database
from gateway.store.models import DeliveryAttempt, ExchangeRecord
from tests.fixtures.network import free_port
from tests.fixtures.postgres import own_database
from tests.fixtures.processes import children
from tests.fixtures.serving import GATEWAY, as_variables, is_up
from tests.fixtures.serving import serve as serve_gateway

WORKERS, CLIENTS, BIRTHS_EACH = 2, 8, 4
BIRTHS = CLIENTS * BIRTHS_EACH


def worker_processes(pid: int) -> list[int]:
    """Return the server's worker processes (not multiprocessing's resource tracker)."""
    found = children(pid)
    return [c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


@pytest.fixture
def on_a_server(settings: Settings) -> Iterator[Settings]:
    """The settings, on a PostgreSQL database of the test's own: workers need a server."""
    with own_database() as url:
        yield settings.model_copy(update={"database_url": url})


@pytest.fixture
def served_by_workers(on_a_server: Settings) -> Iterator[tuple[DemoEnvironment, int]]:
    """The demo systems registered by this process; the gateway served by `WORKERS` others."""
    settings = on_a_server
    port = free_port()
    runtime = Runtime.build(settings)
    env = DemoEnvironment.start(runtime, f"http://127.0.0.1:{port}")
    runtime.close()
    server = serve_gateway(settings, port, WORKERS)
    try:
        assert wait_for(lambda: is_up(env.gateway_url), seconds=60), "the gateway did not start"
        yield env, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) is not None
        env.stop()


def test_two_workers_record_and_deliver_every_exchange_once(
    served_by_workers: tuple[DemoEnvironment, int], on_a_server: Settings
) -> None:
    settings = on_a_server
    env, server = served_by_workers
    assert len(worker_processes(server)) == WORKERS

    def births(_: int) -> list[int]:
        return [env.submit_birth(CIVIL_REGISTRY).status_code for _ in range(BIRTHS_EACH)]

    with ThreadPoolExecutor(CLIENTS) as clients:
        answers = [status for batch in clients.map(births, range(CLIENTS)) for status in batch]
    assert answers == [202] * BIRTHS

    registry, registration = env.standins[CIVIL_REGISTRY], env.standins[REGISTRATION]
    # Each birth comes back as a registration number: a second exchange, delivered too.
    assert wait_for(
        lambda: len(registration.received) == len(env.confirmations) == BIRTHS, seconds=60
    )
    for standin in (registry, registration):
        keys = [r.headers["Idempotency-Key"] for r in standin.received]
        assert len(keys) == len(set(keys)) == BIRTHS  # each exchange delivered once
    assert env.callback_errors == []
    assert [c.status_code for c in env.confirmations] == [202] * BIRTHS

    assert settings.database_url is not None
    engine = create_engine(settings.database_url)

    def count(query: Any) -> list[Any]:
        with engine.connect() as connection:
            return list(connection.execute(query).all())

    try:
        decisions = count(
            select(ExchangeRecord.decision, func.count()).group_by(ExchangeRecord.decision)
        )
        attempts = select(func.count()).select_from(DeliveryAttempt)
        # A relay writes its attempt once the destination has answered: wait for the last.
        assert wait_for(lambda: count(attempts) == [(2 * BIRTHS,)], seconds=30)
        # Both workers' appenders seal into one log: every record once, no gap, no fork.
        unsealed = select(func.count()).where(ExchangeRecord.log_index.is_(None))
        assert wait_for(lambda: count(unsealed) == [(0,)], seconds=30)
        indexes = sorted(i for (i,) in count(select(ExchangeRecord.log_index)))
    finally:
        engine.dispose()
    assert decisions == [("allowed", 2 * BIRTHS)]
    assert indexes == list(range(2 * BIRTHS))
    db = Database.connect(settings.database_url)
    try:
        integrity = TransparencyLog(db, b"reads only", settings.log_origin).integrity()
    finally:
        db.dispose()
    assert integrity.verified, integrity.problem
    assert integrity.size == 2 * BIRTHS


def test_several_serving_processes_on_sqlite_are_refused_with_the_way_out(
    tmp_path: Path,
) -> None:
    """SQLite is the embedded default for one process; more need PostgreSQL, and are told so."""
    sqlite = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'gateway.db'}")
    refused = subprocess.run(
        [GATEWAY, "serve", "--port", str(free_port())],
        env={**as_variables(sqlite), "GATEWAY_WORKERS": "2"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "several serving processes need PostgreSQL" in refused.stderr
    assert "GATEWAY_DATABASE_URL" in refused.stderr


@pytest.fixture
def variables_set(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Set the GATEWAY_* variables to `settings`, as a worker process reads them."""
    for name, value in as_variables(settings).items():
        if name.startswith("GATEWAY_"):
            monkeypatch.setenv(name, value)
    return settings


def test_workers_refuse_settings_that_are_not_the_variables_they_read(
    variables_set: Settings,
) -> None:
    """Workers build their runtime from GATEWAY_* variables; other settings would diverge."""
    runtime = Runtime.build(variables_set.model_copy(update={"max_body_bytes": 1000}))
    try:
        with pytest.raises(ValueError, match="GATEWAY_"):
            serve(runtime, "127.0.0.1", free_port(), workers=2)
    finally:
        runtime.close()


@pytest.mark.usefixtures("variables_set")
def test_a_serving_process_keeps_what_start_up_built_out_of_garbage_collection() -> None:
    """Full collections walk only what came after start-up (they paused the loop ~90 ms).

    `from_environment` is what a worker runs; one process serves `serving_app` itself.
    """
    gc.unfreeze()
    app = from_environment()
    try:
        assert gc.get_freeze_count() > 10_000  # the schemas, code lists and validators
    finally:
        gc.unfreeze()
        app.state.runtime.close()

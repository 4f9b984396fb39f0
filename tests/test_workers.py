"""`gateway serve --workers 2`: two processes, one database and one outbox; every exchange is
recorded once and delivered once, though both workers' relays drain the same outbox."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from bench.birth_flow import children, free_port
from gateway.api.app import from_environment, serve
from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, REGISTRATION, DemoEnvironment, wait_for
from gateway.runtime import Runtime
from gateway.store.models import DeliveryAttempt, ExchangeRecord

WORKERS, CLIENTS, BIRTHS_EACH = 2, 8, 4
BIRTHS = CLIENTS * BIRTHS_EACH


def as_variables(settings: Settings) -> dict[str, str]:
    """The settings as the GATEWAY_* variables worker processes read them from."""
    variables = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is not None:
            variables[f"GATEWAY_{name.upper()}"] = str(value)
    return variables


def worker_processes(pid: int) -> list[int]:
    """Return the server's worker processes (not multiprocessing's resource tracker)."""
    found = children(pid)
    return [c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


@pytest.fixture
def served_by_workers(settings: Settings) -> Iterator[tuple[DemoEnvironment, int]]:
    """The demo systems registered by this process; the gateway served by `WORKERS` others."""
    port = free_port()
    runtime = Runtime.build(settings)
    env = DemoEnvironment.start(runtime, f"http://127.0.0.1:{port}")
    runtime.close()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gateway")), "serve", "--port", str(port)],
        env={**as_variables(settings), "GATEWAY_WORKERS": str(WORKERS)},
    )
    try:
        assert wait_for(lambda: _up(env.gateway_url), seconds=60), "the gateway did not start"
        yield env, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) is not None
        env.stop()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_two_workers_record_and_deliver_every_exchange_once(
    served_by_workers: tuple[DemoEnvironment, int], settings: Settings
) -> None:
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
    finally:
        engine.dispose()
    assert decisions == [("allowed", 2 * BIRTHS)]


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

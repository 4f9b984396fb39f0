"""Accepted means committed, as it runs in production: `gateway serve` killed with SIGKILL in
the middle of a stream of exchanges loses none it acknowledged.

What this cannot test is a power cut: that rests on the database's own sync at commit
(SQLite synchronous=FULL, PostgreSQL fsync and synchronous_commit), which
tests/store/test_group.py checks on the connections the gateway writes through.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from gateway.config import Settings
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment, wait_for
from gateway.runtime import Runtime
from gateway.store.db import Database
from gateway.store.models import ExchangeRecord, OutboxMessage
from tests.fixtures.network import free_port
from tests.fixtures.serving import is_up, serve

CLIENTS = 4
KILL_AFTER = 40  # acknowledged exchanges


@pytest.fixture
def env(settings: Settings) -> Iterator[DemoEnvironment]:
    """The demo systems, registered by this process for a gateway served by another."""
    runtime = Runtime.build(settings)
    environment = DemoEnvironment.start(runtime, f"http://127.0.0.1:{free_port()}")
    runtime.close()
    yield environment
    environment.stop()


def test_a_gateway_killed_mid_stream_keeps_every_exchange_it_acknowledged(
    env: DemoEnvironment, settings: Settings
) -> None:
    port = int(env.gateway_url.rsplit(":", 1)[1])
    server = serve(settings, port)
    acknowledged: list[str] = []
    lock, killed = threading.Lock(), threading.Event()

    def client(_: int) -> None:
        while not killed.is_set():
            try:
                answer = env.submit_birth(CIVIL_REGISTRY)
            except httpx.HTTPError:  # the server is gone
                return
            assert answer.status_code == 202, answer.text
            with lock:
                acknowledged.append(answer.json()["exchange_id"])
                if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                    server.send_signal(signal.SIGKILL)  # in the middle of the others' requests
                    killed.set()

    try:
        assert wait_for(lambda: is_up(env.gateway_url), seconds=60), "the gateway did not start"
        with ThreadPoolExecutor(CLIENTS) as clients:
            list(clients.map(client, range(CLIENTS)))
    finally:
        server.kill()
        server.wait(timeout=30)

    assert len(acknowledged) >= KILL_AFTER
    database = Database.connect(settings.resolved_database_url)
    try:
        with database.reading() as session:
            recorded = dict(
                session.execute(
                    select(ExchangeRecord.id, ExchangeRecord.decision).where(
                        ExchangeRecord.id.in_(acknowledged)
                    )
                ).all()
            )
            queued = set(
                session.scalars(
                    select(OutboxMessage.exchange_id).where(
                        OutboxMessage.exchange_id.in_(acknowledged)
                    )
                )
            )
    finally:
        database.dispose()
    assert recorded == dict.fromkeys(acknowledged, "allowed")
    assert queued == set(acknowledged)

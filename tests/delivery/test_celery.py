"""Celery delivery on real brokers: workers killed with SIGKILL mid-delivery, a poison message,
a broker restarted mid-run, a destination down then up. Nothing is lost, nothing is applied
twice at the receiver, and each destination receives its messages in acceptance order.

These run in the PostgreSQL pass (marker `broker`): the workers are processes of their own
on a database server of the test's own, and the broker is this machine's Redis or RabbitMQ.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import func, make_url, select

from gateway.config import Settings
from gateway.delivery.outbox import DEAD, DELIVERED
from gateway.demo.flow import CIVIL_REGISTRY, DemoEnvironment, wait_for
from gateway.runtime import Runtime
from gateway.store.models import OutboxMessage
from tests.delivery.servers import Destination
from tests.delivery.support import queue
from tests.fixtures.network import free_port
from tests.fixtures.postgres import own_database
from tests.fixtures.serving import is_up
from tests.fixtures.serving import serve as serve_gateway
from tests.fixtures.tcp_proxy import TcpProxy
from tests.fixtures.workers import BROKERS, Workers, purge

pytestmark = pytest.mark.broker

DELIVERIES, DESTINATIONS = 1000, 4
KILLS_AT = (120, 280, 440, 600, 760)  # applied counts at which a worker is killed


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def on_a_server(settings: Settings) -> Iterator[Settings]:
    """Settings for workers: a PostgreSQL database of the test's own, short leases."""
    with own_database() as url:
        yield settings.model_copy(
            update={
                "database_url": url,
                "delivery_lease_seconds": 3.0,
                "delivery_lease_renew_seconds": 0.5,
                "delivery_timeout_seconds": 2.0,
                "delivery_backoff_base_seconds": 0.2,
                "delivery_backoff_max_seconds": 1.0,
                "relay_interval_seconds": 0.3,
                "task_time_limit_seconds": 30.0,
            }
        )


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """Start a Redis of the test's own on `port`, keeping nothing on disk."""
    redis = shutil.which("redis-server")
    assert redis is not None, "redis-server is needed (Debian package redis-server)"
    return subprocess.Popen(
        [redis, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
    )


def with_broker(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"broker_url": SecretStr(url)})


@pytest.fixture
def receiver() -> Iterator[Destination]:
    destination = Destination()
    yield destination
    destination.stop()


def queue_many(runtime: Runtime, url: str, count: int) -> list[str]:
    """Queue `count` messages over DESTINATIONS destinations; return them in acceptance order."""
    return [
        queue(runtime, f"{url}/d{i % DESTINATIONS}", now, destination=f"dst{i % DESTINATIONS}")
        for i in range(count)
    ]


def outbox_statuses(runtime: Runtime) -> dict[str, int]:
    with runtime.db.reading() as session:
        rows = session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    return {status: count for status, count in rows}


def acceptance_order(runtime: Runtime) -> dict[str, list[str]]:
    """Each destination's exchange ids in acceptance (outbox id) order."""
    with runtime.db.reading() as session:
        rows = session.execute(
            select(OutboxMessage.destination, OutboxMessage.exchange_id).order_by(OutboxMessage.id)
        ).all()
    order: dict[str, list[str]] = {}
    for destination, exchange_id in rows:
        order.setdefault(destination, []).append(exchange_id)
    return order


def assert_applied_once_in_order(runtime: Runtime, receiver: Destination, expected: int) -> None:
    assert len(receiver.applied) == expected  # 0 lost
    assert set(receiver.applied.values()) == {1}  # none applied twice
    position = {key: i for i, key in enumerate(receiver.order)}
    for destination, ids in acceptance_order(runtime).items():
        applied = sorted((i for i in ids if i in position), key=position.__getitem__)
        assert applied == [i for i in ids if i in position], f"{destination} out of order"


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_workers_killed_mid_delivery_lose_nothing_and_apply_nothing_twice(
    broker: str, on_a_server: Settings, receiver: Destination, tmp_path: Path
) -> None:
    settings = with_broker(on_a_server, BROKERS[broker])
    purge(BROKERS[broker])
    runtime = Runtime.build(settings)  # migrates, makes the key; the workers do neither
    workers = Workers(settings, tmp_path)
    try:
        queue_many(runtime, receiver.url, DELIVERIES)
        first, _ = workers.start(), workers.start()
        victim = first
        for threshold in KILLS_AT:
            assert wait_for(lambda t=threshold: len(receiver.applied) >= t, seconds=120), (
                workers.output()[-3000:]
            )
            workers.kill(victim)
            victim = workers.running[0]
            workers.start()
        assert wait_for(lambda: outbox_statuses(runtime) == {DELIVERED: DELIVERIES}, seconds=180), (
            outbox_statuses(runtime),
            workers.output()[-3000:],
        )
        assert_applied_once_in_order(runtime, receiver, DELIVERIES)
        assert workers.started == 2 + len(KILLS_AT)
    finally:
        workers.stop()
        runtime.close()


def test_a_message_that_kills_its_worker_every_time_becomes_a_dead_letter(
    on_a_server: Settings, receiver: Destination, tmp_path: Path
) -> None:
    """A poison message: each worker that sends it dies. After the attempts allowed, it is
    a dead letter (no endless requeue), and every other message is delivered."""
    settings = with_broker(on_a_server, BROKERS["redis"]).model_copy(
        update={"delivery_max_attempts": 3}
    )
    purge(BROKERS["redis"])
    runtime = Runtime.build(settings)
    workers = Workers(settings, tmp_path, concurrency=1)
    poison = queue(runtime, f"{receiver.url}/poison", now, destination="poisoned")
    others = queue_many(runtime, receiver.url, 20)
    kills: list[str] = []

    def kill_the_sender(key: str) -> None:
        if key == poison:
            kills.append(key)
            for process in list(workers.running):
                workers.kill(process)
            workers.start()

    receiver.on_request = kill_the_sender
    try:
        workers.start()
        assert wait_for(lambda: outbox_statuses(runtime).get(DEAD) == 1, seconds=120), (
            outbox_statuses(runtime),
            workers.output()[-3000:],
        )
        assert wait_for(lambda: outbox_statuses(runtime).get(DELIVERED) == len(others), 60)
        with runtime.db.reading() as session:
            dead = session.scalars(
                select(OutboxMessage).where(OutboxMessage.exchange_id == poison)
            ).one()
        assert dead.last_error == "sender_lost_during_attempts"
        assert len(kills) == settings.delivery_max_attempts
        assert receiver.applied[poison] <= 1  # the receiver may apply what a dead sender sent
    finally:
        receiver.on_request = None
        workers.stop()
        runtime.close()


def test_a_broker_restarted_mid_run_loses_nothing(
    on_a_server: Settings, receiver: Destination, tmp_path: Path
) -> None:
    """A Redis of the test's own, keeping nothing on disk, is killed and started again in the
    middle of the run: the tasks it held are gone, the outbox is not, and a sweep republishes."""
    port = free_port()
    settings = with_broker(on_a_server, f"redis://127.0.0.1:{port}/0")
    server = start_redis(port)
    runtime = Runtime.build(settings)
    workers = Workers(settings, tmp_path)
    try:
        queue_many(runtime, receiver.url, 400)
        workers.start()
        assert wait_for(lambda: len(receiver.applied) >= 100, seconds=120), workers.output()[-3000:]
        server.kill()
        server.wait(timeout=30)
        server = start_redis(port)
        assert wait_for(lambda: outbox_statuses(runtime) == {DELIVERED: 400}, seconds=180), (
            outbox_statuses(runtime),
            workers.output()[-3000:],
        )
        assert_applied_once_in_order(runtime, receiver, 400)
    finally:
        workers.stop()
        server.kill()
        server.wait(timeout=30)
        runtime.close()


def test_a_destination_down_for_a_while_gets_everything_in_order_when_it_returns(
    on_a_server: Settings, tmp_path: Path
) -> None:
    port = free_port()
    settings = with_broker(on_a_server, BROKERS["rabbitmq"])
    purge(BROKERS["rabbitmq"])
    runtime = Runtime.build(settings)
    workers = Workers(settings, tmp_path)
    try:
        queue_many(runtime, f"http://127.0.0.1:{port}", 60)
        metrics_port = free_port()
        workers.start("--pool", "threads", "--metrics-port", str(metrics_port))
        # Down: every destination is attempted, and nothing is given up.
        assert wait_for(lambda: attempted_destinations(runtime) == DESTINATIONS, seconds=60)
        assert outbox_statuses(runtime) == {"pending": 60}
        receiver = Destination(port=port)  # back, where it was
        try:
            assert wait_for(lambda: outbox_statuses(runtime) == {DELIVERED: 60}, seconds=120), (
                outbox_statuses(runtime),
                workers.output()[-3000:],
            )
            assert_applied_once_in_order(runtime, receiver, 60)
            # The worker counts what it did, for Prometheus: every attempt, by outcome.
            scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/", timeout=10).text
            samples = {
                (s.labels.get("destination"), s.labels.get("outcome")): s.value
                for family in text_string_to_metric_families(scraped)
                for s in family.samples
                if s.name == "gateway_delivery_attempts_total"
            }
            assert sum(v for (_, o), v in samples.items() if o == "delivered") == 60
            assert sum(v for (_, o), v in samples.items() if o == "retry") >= DESTINATIONS
        finally:
            receiver.stop()
    finally:
        workers.stop()
        runtime.close()


def attempted_destinations(runtime: Runtime) -> int:
    with runtime.db.reading() as session:
        return (
            session.scalar(
                select(func.count(func.distinct(OutboxMessage.destination))).where(
                    OutboxMessage.attempts > 0
                )
            )
            or 0
        )


def test_every_exchange_answered_202_is_delivered_though_the_api_is_killed_mid_submissions(
    on_a_server: Settings, tmp_path: Path
) -> None:
    """Births are submitted by four clients while the serving process is killed with SIGKILL
    and started again: each one answered 202 was committed, published after its commit (or
    swept), and is delivered by the workers exactly once."""
    settings = with_broker(on_a_server, BROKERS["redis"])
    purge(BROKERS["redis"])
    port = free_port()
    runtime = Runtime.build(settings)
    env = DemoEnvironment.start(runtime, f"http://127.0.0.1:{port}")
    workers = Workers(settings, tmp_path)
    accepted: list[str] = []
    stop = threading.Event()

    def submit(_: int) -> None:
        while not stop.is_set():
            try:
                answer = env.submit_birth(CIVIL_REGISTRY)
            except httpx.HTTPError:
                continue  # the gateway is down: a client tries again
            if answer.status_code == 202:
                accepted.append(answer.json()["exchange_id"])

    server = serve_gateway(settings, port)
    try:
        assert wait_for(lambda: is_up(env.gateway_url), seconds=60)
        workers.start()
        with ThreadPoolExecutor(4) as clients:
            running = [clients.submit(submit, i) for i in range(4)]
            for target in (10, 20):
                assert wait_for(lambda t=target: len(accepted) >= t, seconds=120)
                server.kill()  # SIGKILL: no answer, no clean-up
                server.wait(timeout=30)
                server = serve_gateway(settings, port)
                assert wait_for(lambda: is_up(env.gateway_url), seconds=60)
            assert wait_for(lambda: len(accepted) >= 30, seconds=120)
            stop.set()
            for client in running:
                client.result()
        registry = env.standins[CIVIL_REGISTRY]

        def delivered() -> set[str]:
            return {r.headers["Idempotency-Key"] for r in registry.received}

        assert wait_for(lambda: set(accepted) <= delivered(), seconds=120), (
            len(set(accepted) - delivered()),
            workers.output()[-3000:],
        )
        keys = [r.headers["Idempotency-Key"] for r in registry.received]
        assert len(keys) == len(set(keys))  # none sent twice to the registry
    finally:
        stop.set()
        server.kill()
        server.wait(timeout=30)
        workers.stop()
        env.stop()
        runtime.close()


def test_an_exchange_accepted_while_the_broker_is_down_waits_and_is_then_delivered(
    on_a_server: Settings, tmp_path: Path
) -> None:
    """No broker answers at submission: every birth is still accepted (202, committed), waits
    in the outbox, and is delivered once a broker and a worker come."""
    broker_port, port = free_port(), free_port()
    settings = with_broker(on_a_server, f"redis://127.0.0.1:{broker_port}/0")
    runtime = Runtime.build(settings)
    env = DemoEnvironment.start(runtime, f"http://127.0.0.1:{port}")
    server = serve_gateway(settings, port)
    broker: subprocess.Popen[bytes] | None = None
    workers = Workers(settings, tmp_path)
    try:
        assert wait_for(lambda: is_up(env.gateway_url), seconds=60)
        answers = [env.submit_birth(CIVIL_REGISTRY) for _ in range(5)]
        assert [a.status_code for a in answers] == [202] * 5
        assert outbox_statuses(runtime) == {"pending": 5}
        broker = start_redis(broker_port)
        workers.start()
        registry = env.standins[CIVIL_REGISTRY]
        accepted = {a.json()["exchange_id"] for a in answers}
        assert wait_for(
            lambda: accepted <= {r.headers["Idempotency-Key"] for r in registry.received}, 120
        ), workers.output()[-3000:]
    finally:
        server.kill()
        server.wait(timeout=30)
        workers.stop()
        if broker is not None:
            broker.kill()
            broker.wait(timeout=30)
        env.stop()
        runtime.close()


def test_workers_ride_out_a_database_that_goes_away_for_a_few_seconds(
    on_a_server: Settings, receiver: Destination, tmp_path: Path
) -> None:
    """The workers reach PostgreSQL through a proxy that is cut mid-run, every connection
    closed and new ones refused, then restored: they recover with no restart, 0 lost."""
    url = make_url(on_a_server.database_url or "")
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    direct = with_broker(on_a_server, BROKERS["redis"])
    purge(BROKERS["redis"])
    runtime = Runtime.build(direct)
    through_proxy = direct.model_copy(
        update={"database_url": url.set(port=proxy.port).render_as_string(hide_password=False)}
    )
    workers = Workers(through_proxy, tmp_path)
    try:
        queue_many(runtime, receiver.url, 300)
        workers.start()
        assert wait_for(lambda: len(receiver.applied) >= 60, seconds=120), workers.output()[-3000:]
        proxy.cut()
        assert wait_for(lambda: proxy.refused >= 3, seconds=60)  # they tried, and failed
        proxy.restore()
        assert wait_for(lambda: outbox_statuses(runtime) == {DELIVERED: 300}, seconds=180), (
            outbox_statuses(runtime),
            workers.output()[-3000:],
        )
        assert_applied_once_in_order(runtime, receiver, 300)
        assert [w.poll() for w in workers.running] == [None]  # the same worker, not restarted
    finally:
        workers.stop()
        proxy.stop()
        runtime.close()

"""The outbox relay against real HTTP servers: retries, dead letters, leases, idempotency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import insert, select

from gateway import systems
from gateway.audit.record import ALLOWED, Attempt
from gateway.config import Settings
from gateway.delivery.outbox import DEAD, DELIVERED, PENDING, OutboxRelay, RetryPolicy
from gateway.delivery.transport import HttpTransport
from gateway.demo.standins import StandIn
from gateway.runtime import Runtime
from gateway.store.models import DeliveryAttempt, ExchangeRecord, OutboxMessage
from gateway.systems import SystemSpec


class Clock:
    """A clock the test moves by hand, so backoff is exercised without sleeping."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def destination() -> Iterator[StandIn]:
    standin = StandIn("destination").start()
    yield standin
    standin.stop()


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings)
    yield rt
    rt.close()


def make_relay(runtime: Runtime, clock: Clock, max_attempts: int = 4) -> OutboxRelay:
    retry = RetryPolicy(max_attempts=max_attempts, base_seconds=1, max_seconds=8, lease_seconds=30)
    return OutboxRelay(runtime.db, HttpTransport(5), runtime.sealer, retry, clock)


def queue(runtime: Runtime, endpoint: str, clock: Clock, token: str | None = None) -> str:
    """Write one accepted exchange and its outbox row, as the pipeline does."""
    attempt = Attempt(recorded_at=clock(), decision=ALLOWED, source="src", destination="dst")
    with runtime.db.unit_of_work() as session:
        if session.get(systems.System, "dst") is None:
            spec = SystemSpec(
                id="dst",
                name="Destination",
                adapter="opencrvs",
                endpoint=endpoint,
                jurisdiction="KEN",
                outbound_token=token,
            )
            systems.register(session, spec, runtime.sealer)
        session.execute(insert(ExchangeRecord), ExchangeRecord.values(attempt))
        session.flush()
        session.add(
            OutboxMessage(
                exchange_id=attempt.id,
                destination="dst",
                body=b'{"n": 1}',
                content_type="application/json",
                status=PENDING,
                attempts=0,
                next_attempt_at=clock(),
            )
        )
    return attempt.id


def outbox_row(runtime: Runtime, exchange_id: str) -> OutboxMessage:
    with runtime.db.unit_of_work() as session:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.exchange_id == exchange_id)
        ).one()


def test_delivers_with_idempotency_key_and_sealed_token(
    runtime: Runtime, destination: StandIn
) -> None:
    clock = Clock()
    exchange_id = queue(runtime, destination.url, clock, token="secret-outbound-token")

    assert make_relay(runtime, clock).drain() == 1

    [received] = destination.received
    assert received.headers["Idempotency-Key"] == exchange_id
    assert received.headers["Authorization"] == "Bearer secret-outbound-token"
    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.attempts, row.body) == (DELIVERED, 1, None)
    with runtime.db.unit_of_work() as session:
        stored = session.get_one(systems.System, "dst").outbound_token_sealed
    assert stored is not None and "secret-outbound-token" not in stored


def test_server_error_is_retried_after_backoff_then_delivered(
    runtime: Runtime, destination: StandIn
) -> None:
    clock = Clock()
    destination.status = 503
    exchange_id = queue(runtime, destination.url, clock)
    relay = make_relay(runtime, clock)

    assert relay.drain() == 1
    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.attempts, row.last_error) == (PENDING, 1, "HTTP 503")
    assert relay.drain() == 0  # not due yet: backoff holds it back

    destination.status = 202
    clock.advance(1)
    assert relay.drain() == 1
    assert outbox_row(runtime, exchange_id).status == DELIVERED
    with runtime.db.unit_of_work() as session:
        codes = session.scalars(
            select(DeliveryAttempt.status_code).where(DeliveryAttempt.exchange_id == exchange_id)
        ).all()
    assert sorted(codes) == [202, 503]


def test_unreachable_destination_goes_dead_after_max_attempts_and_keeps_the_body(
    runtime: Runtime,
) -> None:
    clock = Clock()
    exchange_id = queue(runtime, "http://127.0.0.1:9/closed", clock)
    relay = make_relay(runtime, clock, max_attempts=3)

    for _ in range(3):
        relay.drain()
        clock.advance(60)

    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.attempts) == (DEAD, 3)
    assert row.body == b'{"n": 1}'  # a dead letter keeps its message for the operator
    assert row.last_error == "ConnectError"


def test_client_error_is_a_dead_letter_at_once(runtime: Runtime, destination: StandIn) -> None:
    clock = Clock()
    destination.status = 400
    exchange_id = queue(runtime, destination.url, clock)

    make_relay(runtime, clock).drain()

    assert outbox_row(runtime, exchange_id).status == DEAD


def test_too_many_requests_is_retried(runtime: Runtime, destination: StandIn) -> None:
    clock = Clock()
    destination.status = 429
    exchange_id = queue(runtime, destination.url, clock)

    make_relay(runtime, clock).drain()

    assert outbox_row(runtime, exchange_id).status == PENDING


def test_a_leased_message_is_not_claimed_by_a_second_relay(
    runtime: Runtime, destination: StandIn
) -> None:
    clock = Clock()
    exchange_id = queue(runtime, destination.url, clock)
    first, second = make_relay(runtime, clock), make_relay(runtime, clock)

    assert first._claim(10) == [outbox_row(runtime, exchange_id).id]
    assert second._claim(10) == []  # still leased by the first relay
    clock.advance(31)  # the first relay died: its lease runs out
    assert second.drain() == 1
    assert len(destination.received) == 1


def test_backoff_grows_and_is_capped() -> None:
    retry = RetryPolicy(base_seconds=2, max_seconds=60)
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        delay = retry.delay(attempts).total_seconds()
        assert ceiling / 2 <= delay <= ceiling


def test_each_message_is_sent_once_when_relays_race(runtime: Runtime, destination: StandIn) -> None:
    clock = Clock()
    ids = {queue(runtime, destination.url, clock) for _ in range(20)}
    relays = [make_relay(runtime, clock) for _ in range(3)]

    with ThreadPoolExecutor(max_workers=3) as pool:
        sent = sum(pool.map(lambda relay: relay.drain(), relays))

    assert sent == 20
    assert destination.hits == 20  # no message went out twice
    assert sorted(r.headers["Idempotency-Key"] for r in destination.received) == sorted(ids)

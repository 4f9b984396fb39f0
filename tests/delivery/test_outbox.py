"""The outbox relay against real HTTP servers: retries, dead letters, idempotency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway import systems
from gateway.delivery.outbox import DEAD, DELIVERED, PENDING, OutboxRelay
from gateway.delivery.retry import RetryPolicy, Verdict, retry_after_seconds
from gateway.delivery.transport import HttpTransport
from gateway.demo.standins import StandIn
from gateway.runtime import Runtime
from tests.delivery.servers import Destination
from tests.delivery.support import BODY, Clock, attempt_codes, outbox_row, queue

Relays = Callable[..., OutboxRelay]


@pytest.fixture
def destination() -> Iterator[StandIn]:
    standin = StandIn("destination").start()
    yield standin
    standin.stop()


def test_delivers_with_idempotency_key_and_sealed_token(
    runtime: Runtime, relays: Relays, destination: StandIn
) -> None:
    clock = Clock()
    exchange_id = queue(runtime, destination.url, clock, token="secret-outbound-token")

    assert relays(clock).drain() == 1

    [received] = destination.received
    assert received.headers["Idempotency-Key"] == exchange_id
    assert received.headers["Authorization"] == "Bearer secret-outbound-token"
    assert received.body == BODY  # opened for sending, sealed at rest
    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.attempts, row.body) == (DELIVERED, 1, None)
    with runtime.db.unit_of_work() as session:
        stored = session.get_one(systems.System, "dst").outbound_token_sealed
    assert stored is not None and "secret-outbound-token" not in stored


def test_server_error_is_retried_after_backoff_then_delivered(
    runtime: Runtime, relays: Relays, destination: StandIn
) -> None:
    clock = Clock()
    destination.status = 503
    exchange_id = queue(runtime, destination.url, clock)
    relay = relays(clock)

    assert relay.drain() == 1
    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.attempts, row.last_error) == (PENDING, 1, "HTTP 503")
    assert relay.drain() == 0  # not due yet: backoff holds it back

    destination.status = 202
    clock.advance(1)
    assert relay.drain() == 1
    assert outbox_row(runtime, exchange_id).status == DELIVERED
    assert sorted(c or 0 for c in attempt_codes(runtime, exchange_id)) == [202, 503]


def test_a_message_to_be_retried_is_not_overtaken_by_the_next_one(
    runtime: Runtime, relays: Relays, destination: StandIn
) -> None:
    """A 500 for the first message holds back the second, claimed with it, until its retry."""
    clock = Clock()
    destination.status = 500
    first = queue(runtime, destination.url, clock)
    second = queue(runtime, destination.url, clock)
    relay = relays(clock)

    relay.drain()
    assert outbox_row(runtime, first).attempts == 1
    assert (outbox_row(runtime, second).status, outbox_row(runtime, second).attempts) == (
        PENDING,
        0,
    )

    destination.status = 202
    clock.advance(1)
    relay.drain()
    clock.advance(1)
    relay.drain()
    assert [r.headers["Idempotency-Key"] for r in destination.received] == [first, second]


def test_an_unreachable_destination_keeps_its_message_whatever_the_attempts(
    runtime: Runtime, relays: Relays
) -> None:
    """A destination that cannot be reached is down, not refusing: its message waits for it."""
    clock = Clock()
    exchange_id = queue(runtime, "http://127.0.0.1:9/closed", clock)
    relay = relays(clock, max_attempts=3)

    for _ in range(6):
        relay.drain()
        clock.advance(60)

    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.attempts) == (PENDING, 6)
    assert row.body is not None and BODY not in row.body  # kept, sealed
    assert row.last_error == "ConnectError"


def test_a_destination_failing_every_attempt_makes_a_dead_letter_that_keeps_its_body(
    runtime: Runtime, relays: Relays, destination: StandIn
) -> None:
    clock = Clock()
    destination.status = 503
    exchange_id = queue(runtime, destination.url, clock)
    relay = relays(clock, max_attempts=3)

    for _ in range(3):
        relay.drain()
        clock.advance(60)

    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.attempts, row.last_error) == (DEAD, 3, "HTTP 503")
    assert row.body is not None and BODY not in row.body  # kept for the operator, sealed


def test_client_error_is_a_dead_letter_at_once(
    runtime: Runtime, relays: Relays, destination: StandIn
) -> None:
    clock = Clock()
    destination.status = 400
    exchange_id = queue(runtime, destination.url, clock)

    relays(clock).drain()

    assert outbox_row(runtime, exchange_id).status == DEAD


def test_too_many_requests_is_retried(
    runtime: Runtime, relays: Relays, destination: StandIn
) -> None:
    clock = Clock()
    destination.status = 429
    exchange_id = queue(runtime, destination.url, clock)

    relays(clock).drain()

    assert outbox_row(runtime, exchange_id).status == PENDING


def test_a_conflict_on_our_idempotency_key_counts_as_delivered(
    runtime: Runtime, relays: Relays, applying: Destination
) -> None:
    """The destination applied an earlier send whose answer was lost: 409 is delivered."""
    clock = Clock()
    exchange_id = queue(runtime, applying.url, clock)
    applying.applied[exchange_id] = 1  # applied before, by a send whose answer never came

    relays(clock).drain()

    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.body, row.last_error) == (DELIVERED, None, None)
    assert attempt_codes(runtime, exchange_id) == [409]


@pytest.mark.parametrize(("retry_after", "floor"), [("5", 5), ("100", 8)])
def test_retry_after_is_honoured_up_to_the_backoff_max(
    runtime: Runtime, relays: Relays, applying: Destination, retry_after: str, floor: float
) -> None:
    clock = Clock()
    applying.status, applying.headers = 503, {"Retry-After": retry_after}
    exchange_id = queue(runtime, applying.url, clock)

    relays(clock).drain()  # backoff alone would say 0.5 to 1 s; the cap is 8 s

    wait = outbox_row(runtime, exchange_id).next_attempt_at - clock()
    assert wait == dt.timedelta(seconds=floor)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds({"retry-after": "120"}, now) == 120
    assert retry_after_seconds({"retry-after": "Mon, 23 Nov 2026 12:01:30 GMT"}, now) == 90
    assert retry_after_seconds({"retry-after": "soon"}, now) is None
    assert retry_after_seconds({"retry-after": "\u00b2"}, now) is None  # a digit, not a number
    assert retry_after_seconds({}, now) is None


def test_the_transport_returns_the_whole_answer_with_its_body_capped(
    applying: Destination,
) -> None:
    applying.status, applying.headers = 503, {"Retry-After": "7", "X-Fault": "overloaded"}
    applying.answer = b"x" * 100_000
    transport = HttpTransport(5, body_cap=1000)
    try:
        response = transport.post(applying.url, b"{}", {"Idempotency-Key": "k" * 16})
    finally:
        transport.close()

    assert response.status == 503
    assert (response.headers["retry-after"], response.headers["x-fault"]) == ("7", "overloaded")
    assert response.body == b"x" * 1000
    assert response.elapsed_seconds > 0


def test_verdicts() -> None:
    retry = RetryPolicy(max_attempts=3)
    assert retry.verdict(200, 1) is retry.verdict(409, 1) is Verdict.DELIVERED
    assert retry.verdict(400, 1) is retry.verdict(404, 1) is Verdict.DEAD
    assert retry.verdict(429, 1) is retry.verdict(503, 1) is retry.verdict(None, 2) is Verdict.RETRY
    assert retry.verdict(503, 3) is Verdict.DEAD
    assert retry.verdict(None, 300) is Verdict.RETRY  # not reached: the destination is down


def test_backoff_grows_and_is_capped() -> None:
    retry = RetryPolicy(base_seconds=2, max_seconds=60)
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        delay = retry.delay(attempts).total_seconds()
        assert ceiling / 2 <= delay <= ceiling


def test_each_message_is_sent_once_when_relays_race(
    runtime: Runtime, relays: Relays, destination: StandIn
) -> None:
    clock = Clock()
    ids = {queue(runtime, destination.url, clock) for _ in range(20)}
    racing = [relays(clock) for _ in range(3)]

    with ThreadPoolExecutor(max_workers=3) as pool:
        sent = sum(pool.map(lambda relay: relay.drain(), racing))

    assert sent == 20
    assert destination.hits == 20  # no message went out twice
    assert sorted(r.headers["Idempotency-Key"] for r in destination.received) == sorted(ids)

"""Destinations are served apart: a hung or dead one holds up no other, and costs one timeout."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from gateway.config import Settings
from gateway.delivery.outbox import DELIVERED, PENDING, OutboxRelay
from gateway.runtime import Runtime, utc_now
from tests.delivery.servers import Destination, Hang
from tests.delivery.support import Clock, attempt_codes, outbox_row, queue, wait_until

Relays = Callable[..., OutboxRelay]
TIMEOUT = 3.0


@pytest.fixture
def hang() -> Iterator[Hang]:
    server = Hang()
    yield server
    server.stop()


def test_a_hung_destination_does_not_hold_up_a_healthy_one(
    settings: Settings, hang: Hang, applying: Destination
) -> None:
    """20 messages to a destination that never answers, then 1 to a healthy one.

    One at a time, the healthy one would wait 20 timeouts (60 s); it is delivered while the
    hung destination still holds its first message.
    """
    runtime = Runtime.build(settings.model_copy(update={"delivery_timeout_seconds": TIMEOUT}))
    try:
        stuck = [queue(runtime, hang.url, utc_now, destination="hung") for _ in range(20)]
        fine = queue(runtime, applying.url, utc_now, destination="healthy")
        runtime.start_relay()

        assert wait_until(lambda: applying.applied[fine] == 1, 2 * TIMEOUT)
        # Applied there first, recorded here a moment after: wait for the record too.
        assert wait_until(lambda: outbox_row(runtime, fine).status == DELIVERED, 2 * TIMEOUT)
        assert {outbox_row(runtime, e).status for e in stuck} == {PENDING}
    finally:
        runtime.close()


def test_a_dead_destination_costs_one_timeout_per_pass(
    runtime: Runtime, relays: Relays, hang: Hang
) -> None:
    clock = Clock()
    ids = [queue(runtime, hang.url, clock) for _ in range(20)]

    assert relays(clock, timeout=1).drain() == 20

    assert hang.connections == 1  # the first message timed out; the others were not sent
    first = outbox_row(runtime, ids[0])
    assert (first.attempts, first.last_error) == (1, "ReadTimeout")
    assert attempt_codes(runtime, ids[0]) == [None]
    for exchange_id in ids[1:]:
        row = outbox_row(runtime, exchange_id)
        assert (row.status, row.attempts, row.lease_until, row.lease_token) == (
            PENDING,
            0,
            None,
            None,
        )
        assert row.next_attempt_at == first.next_attempt_at  # held back with the first
        assert attempt_codes(runtime, exchange_id) == []


def test_messages_to_one_destination_go_in_acceptance_order(
    runtime: Runtime, relays: Relays, applying: Destination
) -> None:
    clock = Clock()
    ids = [queue(runtime, applying.url, clock) for _ in range(10)]

    relays(clock).drain()

    assert applying.order == ids

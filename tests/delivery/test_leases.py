"""Leases: renewed while a message is in flight, fenced when settling, checked at start-up."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from gateway.config import Settings
from gateway.delivery import lease
from gateway.delivery.lease import LeasePolicy
from gateway.delivery.outbox import DEAD, DELIVERED, OutboxRelay
from gateway.errors import ConfigurationError
from gateway.runtime import Runtime, utc_now
from gateway.store.models import OutboxMessage
from tests.delivery.servers import Destination
from tests.delivery.support import Clock, attempt_codes, outbox_row, queue, wait_until

Relays = Callable[..., OutboxRelay]


def test_a_dead_relays_lease_runs_out_and_another_relay_sends(
    runtime: Runtime, relays: Relays, applying: Destination
) -> None:
    clock = Clock()
    exchange_id = queue(runtime, applying.url, clock)
    second = relays(clock)

    # A relay claims the message and dies before sending it: nothing renews its lease.
    claimed = lease.claim(runtime.db, "a" * 32, clock(), 30, limit=10)
    assert [c.id for c in claimed] == [outbox_row(runtime, exchange_id).id]
    assert second.drain() == 0  # still leased
    clock.advance(31)
    assert second.drain() == 1
    assert applying.applied[exchange_id] == 1


def test_a_relay_that_lost_its_lease_cannot_overwrite_the_outcome(
    runtime: Runtime, relays: Relays, applying: Destination
) -> None:
    """The first relay stalls past its lease; the second delivers; the first's late 400 is
    dropped, not recorded as the message's fate (it once marked delivered messages dead)."""
    clock = Clock()
    exchange_id = queue(runtime, applying.url, clock)
    applying.gate, applying.gated_status = threading.Event(), 400
    first, second = relays(clock), relays(clock)

    stalled = first.dispatch()
    assert wait_until(lambda: applying.requests == 1, 10)
    clock.advance(31)  # the first relay's lease runs out (its heartbeat is not due for 10 s)
    assert second.drain() == 1  # the destination already applied it: 409, delivered
    applying.gate.set()
    for send in stalled.sends:
        send.result()

    row = outbox_row(runtime, exchange_id)
    # Two attempts were made (each counted when claimed); the first's late outcome is not.
    assert (row.status, row.attempts, row.last_error) == (DELIVERED, 2, None)
    assert sorted(c or 0 for c in attempt_codes(runtime, exchange_id)) == [400, 409]
    assert applying.applied[exchange_id] == 1


def test_two_relays_drain_one_outbox_through_a_destination_slower_than_the_lease(
    settings: Settings,
) -> None:
    """Two gateways' relays on one database; every answer takes twice the lease (1 s).

    Leases are renewed while messages are in flight, so neither relay takes over the other's
    messages: each is applied once at the destination, and none is marked dead.
    """
    fast = settings.model_copy(
        update={"delivery_lease_seconds": 1.0, "delivery_lease_renew_seconds": 0.2}
    )
    destination = Destination()
    destination.delay_seconds = 2.0
    first, second = Runtime.build(fast), Runtime.build(fast)
    try:
        ids = [
            queue(first, f"{destination.url}/{n % 10}", utc_now, destination=f"dst-{n % 10}")
            for n in range(20)
        ]  # ten destinations, two messages each, sent at once in each relay's threads
        first.start_relay()
        second.start_relay()

        def statuses() -> list[str]:
            with first.db.unit_of_work() as session:
                return list(session.scalars(select(OutboxMessage.status)))

        assert wait_until(lambda: "pending" not in statuses(), 60)
        assert DEAD not in statuses()
        assert set(statuses()) == {DELIVERED}
    finally:
        first.close()
        second.close()
        destination.stop()
    assert dict(destination.applied) == dict.fromkeys(ids, 1)
    assert not destination.duplicates  # nothing was sent twice


@pytest.mark.parametrize(
    ("lease_seconds", "renew_seconds", "location"),
    [
        (1.0, 0.5, "GATEWAY_DELIVERY_LEASE_SECONDS"),  # not over twice the renewal
        (30.0, 5.0, "GATEWAY_DELIVERY_LEASE_RENEW_SECONDS"),  # not under the 5 s timeout
    ],
)
def test_incoherent_lease_settings_stop_start_up(
    settings: Settings, lease_seconds: float, renew_seconds: float, location: str
) -> None:
    bad = settings.model_copy(
        update={
            "delivery_lease_seconds": lease_seconds,
            "delivery_lease_renew_seconds": renew_seconds,
        }
    )
    with pytest.raises(ConfigurationError) as raised:
        Runtime.build(bad)
    assert [p.location for p in raised.value.problems] == [location]
    assert "must be" in raised.value.problems[0].message  # and says what it must be


def test_the_default_renewal_fits_the_lease_and_the_timeout() -> None:
    assert LeasePolicy.for_timeout(30, None, 10) == LeasePolicy(30, 5)
    assert LeasePolicy.for_timeout(30, None, 2) == LeasePolicy(30, 1)
    assert LeasePolicy.for_timeout(1, None, 5) == LeasePolicy(1, 0.25)


def test_a_later_message_never_overtakes_an_earlier_one_waiting_for_its_next_attempt(
    runtime: Runtime, relays: Relays, applying: Destination
) -> None:
    """The earlier message failed and waits (backoff); a later one to the same destination
    waits behind it, while other destinations go on. Then both go, in acceptance order."""
    clock = Clock()
    applying.status = 503
    earlier = queue(runtime, applying.url, clock)
    relay = relays(clock)
    assert relay.drain() == 1  # 503: it waits for its next attempt
    applying.status = 202
    later = queue(runtime, applying.url, clock)
    elsewhere = queue(runtime, applying.url, clock, destination="other")

    assert relay.drain() == 1  # only the other destination's
    assert applying.order == [elsewhere]
    clock.advance(60)
    assert relay.drain() == 2
    assert applying.order == [elsewhere, earlier, later]


def test_a_destination_being_sent_to_by_one_relay_is_passed_over_by_another(
    runtime: Runtime, relays: Relays, applying: Destination
) -> None:
    """Two relays on one outbox: while the first holds a destination's messages, the second
    claims none of that destination's, even ones accepted since (they would overtake)."""
    clock = Clock()
    first = queue(runtime, applying.url, clock)
    held = lease.claim(runtime.db, "a" * 32, clock(), 30, limit=10)
    assert [c.destination for c in held] == ["dst"]
    queue(runtime, applying.url, clock)  # accepted while the first is being sent
    other = queue(runtime, applying.url, clock, destination="other")

    taken = lease.claim(runtime.db, "b" * 32, clock(), 30, limit=10)
    assert [c.destination for c in taken] == ["other"]
    assert outbox_row(runtime, first).lease_token == "a" * 32
    assert outbox_row(runtime, other).attempts == 1  # counted when claimed

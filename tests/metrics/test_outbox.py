"""The outbox gauges: read from the real outbox at each scrape, per destination and status."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from gateway.delivery.repository import AWAITING_APPROVAL, DEAD, DELIVERED
from gateway.metrics.exposition import exposition
from gateway.runtime import Runtime
from gateway.store.db import Database
from gateway.store.models import OutboxMessage
from tests.delivery.support import queue
from tests.metrics.support import parse, value

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
ENDPOINT = "http://127.0.0.1:9/"  # never sent to: no relay runs


def accepted(seconds_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds_ago)


def queued(
    runtime: Runtime, destination: str, seconds_ago: float, status: str | None = None
) -> None:
    """Queue a message accepted `seconds_ago`; move it to `status` if given."""
    exchange_id = queue(runtime, ENDPOINT, lambda: accepted(seconds_ago), destination=destination)
    if status is not None:
        with runtime.db.unit_of_work() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.exchange_id == exchange_id)
                .values(status=status)
            )


def test_queue_depth_and_oldest_age_per_destination_are_the_outbox_now(runtime: Runtime) -> None:
    queued(runtime, "registry-a", 300)
    queued(runtime, "registry-a", 60)
    queued(runtime, "registry-b", 120, AWAITING_APPROVAL)
    queued(runtime, "registry-b", 30, DEAD)
    queued(runtime, "registry-b", 5)
    queued(runtime, "registry-c", 900, DELIVERED)  # delivered: counted nowhere here

    samples = parse(exposition(runtime.db, NOW).decode())

    def messages(destination: str, status: str) -> float | None:
        return value(samples, "gateway_outbox_messages", destination=destination, status=status)

    def age(destination: str, status: str) -> float | None:
        labels = {"destination": destination, "status": status}
        return value(samples, "gateway_outbox_oldest_age_seconds", **labels)

    assert value(samples, "gateway_outbox_up") == 1
    statuses = ("pending", AWAITING_APPROVAL, DEAD)
    assert [messages("registry-a", s) for s in statuses] == [2, 0, 0]
    assert [messages("registry-b", s) for s in statuses] == [1, 1, 1]
    assert [messages("registry-c", s) for s in statuses] == [0, 0, 0]
    assert [age("registry-a", s) for s in statuses] == [300, None, None]
    assert [age("registry-b", s) for s in statuses] == [5, 120, None]
    assert [age("registry-c", s) for s in statuses] == [None, None, None]

    # The scrape reads the outbox as it is: once sent, a message is no longer waiting.
    with runtime.db.unit_of_work() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.destination == "registry-a")
            .values(status=DELIVERED)
        )
    later = parse(exposition(runtime.db, NOW + dt.timedelta(seconds=10)).decode())
    pending_a = {"destination": "registry-a", "status": "pending"}
    assert value(later, "gateway_outbox_messages", **pending_a) == 0
    assert value(later, "gateway_outbox_oldest_age_seconds", **pending_a) is None
    pending_b = {"destination": "registry-b", "status": "pending"}
    assert value(later, "gateway_outbox_oldest_age_seconds", **pending_b) == 15


def test_a_database_that_does_not_answer_leaves_the_counts_and_says_so() -> None:
    unreachable = Database.connect("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        text = exposition(unreachable, NOW).decode()
    finally:
        unreachable.dispose()
    samples = parse(text)
    assert value(samples, "gateway_outbox_up") == 0
    assert not any(name.startswith("gateway_outbox_messages") for name, _ in samples)
    assert "# TYPE gateway_exchanges_total counter" in text

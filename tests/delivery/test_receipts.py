"""A destination's whole answer, read by its adapter: receipts, faults in a 200, later."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import pytest

from adapters.kit.contract import Outcome, Receipt, ResponseReader
from adapters.opencrvs import OpenCrvsAdapter
from adapters.registry import AdapterRegistry
from gateway.delivery.outbox import DEAD, DELIVERED, PENDING, OutboxRelay
from gateway.delivery.repository import delivery_of
from gateway.runtime import Runtime
from tests.delivery.servers import Destination
from tests.delivery.support import Clock, outbox_row, queue

Relays = Callable[..., OutboxRelay]


class ReadingOpenCrvs(OpenCrvsAdapter):
    """OpenCRVS as if it answered in its body: a number, a fault, or 'busy'."""

    def read_response(
        self, message_type: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> Receipt:
        answer = json.loads(body)  # raises on a body it cannot read: a bug, by design here
        if "fault" in answer:
            return Receipt(Outcome.REJECTED, reason=answer["fault"])
        if answer.get("busy"):
            return Receipt(Outcome.RETRY, reason="busy")
        return Receipt(Outcome.DELIVERED, reference=answer["number"])


@pytest.fixture
def registry() -> AdapterRegistry:
    built = AdapterRegistry.from_factories({"opencrvs": ReadingOpenCrvs})
    assert isinstance(built.get("opencrvs"), ResponseReader)
    return built


def _send(
    runtime: Runtime,
    relays: Relays,
    registry: AdapterRegistry,
    dest: Destination,
    destination_id: str = "dst",
) -> str:
    clock = Clock()
    exchange_id = queue(runtime, dest.url, clock, destination=destination_id)
    assert relays(clock, adapters=registry).drain() == 1
    return exchange_id


def test_the_receipt_in_the_body_is_kept_with_the_delivery(
    runtime: Runtime, relays: Relays, registry: AdapterRegistry, applying: Destination
) -> None:
    applying.status, applying.answer = 201, b'{"number": "' + b"9" * 200 + b'"}'
    exchange_id = _send(runtime, relays, registry, applying)

    assert outbox_row(runtime, exchange_id).status == DELIVERED
    with runtime.db.reading() as session:
        delivery = delivery_of(session, exchange_id)
    assert delivery is not None and delivery.receipt == "9" * 128  # cut: an id, not a document


def test_a_fault_inside_a_200_is_a_dead_letter_with_its_reason(
    runtime: Runtime, relays: Relays, registry: AdapterRegistry, applying: Destination
) -> None:
    applying.status, applying.answer = 200, b'{"fault": "schema_violation"}'
    exchange_id = _send(runtime, relays, registry, applying)

    row = outbox_row(runtime, exchange_id)
    assert (row.status, row.last_error) == (DEAD, "rejected: schema_violation")


def test_later_is_retried_and_an_unreadable_answer_is_never_called_delivered(
    runtime: Runtime, relays: Relays, registry: AdapterRegistry, applying: Destination
) -> None:
    applying.status, applying.answer = 200, b'{"busy": true}'
    later = _send(runtime, relays, registry, applying)
    assert (outbox_row(runtime, later).status, outbox_row(runtime, later).last_error) == (
        PENDING,
        "later: busy",
    )

    applying.answer = b"<html>not json</html>"  # to another destination: none waits
    unreadable = _send(runtime, relays, registry, applying, "dst-2")
    row = outbox_row(runtime, unreadable)
    assert (row.status, row.last_error) == (DEAD, "answer_unreadable")


def test_without_a_reader_the_status_alone_decides(
    runtime: Runtime, relays: Relays, applying: Destination
) -> None:
    applying.status, applying.answer = 200, b'{"fault": "ignored"}'
    plain = AdapterRegistry.from_factories({"opencrvs": OpenCrvsAdapter})
    exchange_id = _send(runtime, relays, plain, applying)
    assert outbox_row(runtime, exchange_id).status == DELIVERED

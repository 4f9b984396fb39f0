"""Helpers for the relay's tests: a hand-moved clock, queued messages, reading the outbox."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from sqlalchemy import select

from gateway import systems
from gateway.audit import record as audit_record
from gateway.audit import repository as audit_log
from gateway.audit.record import ALLOWED
from gateway.delivery.bodies import sealed_columns
from gateway.delivery.outbox import PENDING
from gateway.ids import new_id
from gateway.runtime import Runtime
from gateway.store.group import Batch
from gateway.store.models import DeliveryAttempt, OutboxMessage
from gateway.systems import SystemSpec

BODY = b'{"n": 1}'


class Clock:
    """A clock the test moves by hand, so backoff is exercised without sleeping."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def queue(
    runtime: Runtime,
    endpoint: str,
    clock: Callable[[], dt.datetime],
    token: str | None = None,
    destination: str = "dst",
    body: bytes = BODY,
) -> str:
    """Write one accepted exchange and its sealed outbox row, as the pipeline does."""
    attempt = audit_record.build(
        exchange_id=new_id(),
        recorded_at=clock(),
        source="src",
        request_digest=None,
        decision=ALLOWED,
        reasons=["allowed"],
    )
    with runtime.db.unit_of_work() as session:
        if session.get(systems.System, destination) is None:
            spec = SystemSpec(
                id=destination,
                name="Destination",
                adapter="opencrvs",
                endpoint=endpoint,
                jurisdiction="KEN",
                outbound_token=token,
            )
            systems.register(session, spec, runtime.sealer)
        recorded = Batch(session.connection())
        recorded.defer(*audit_log.writes(attempt))
        recorded.write()
        session.flush()
        session.add(
            OutboxMessage(
                exchange_id=attempt.id,
                destination=destination,
                **sealed_columns(runtime.bodies, attempt.id, body),
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


def attempt_codes(runtime: Runtime, exchange_id: str) -> list[int | None]:
    with runtime.db.unit_of_work() as session:
        return list(
            session.scalars(
                select(DeliveryAttempt.status_code)
                .where(DeliveryAttempt.exchange_id == exchange_id)
                .order_by(DeliveryAttempt.id)
            )
        )


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    """Wait for a condition, up to a deadline; say whether it came true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()

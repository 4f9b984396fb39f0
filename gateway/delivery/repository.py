"""The outbox in the store: a message queued with its exchange's record, and where it stands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from gateway.crypto import BodySealer
from gateway.delivery.bodies import sealed_columns
from gateway.store.group import Write
from gateway.store.models import DeliveryAttempt, OutboxMessage

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# Held for the DPO's approval (gateway/approvals/): the relay claims only PENDING rows, so a
# held message is never sent; approved, it becomes PENDING; rejected, REJECTED, body erased.
AWAITING_APPROVAL, REJECTED = "awaiting-approval", "rejected"


QUEUE = insert(OutboxMessage)
IN_LIST = 1_000  # ids bound in one IN (...) at most


@dataclass(frozen=True)
class Delivery:
    """Where an exchange's delivery stands: its state, attempts, last error, next attempt."""

    status: str
    attempts: int
    last_error: str | None
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    receipt: str | None = None  # the reference the destination gave back, if it gave one


def queued(
    sealer: BodySealer,
    *,
    exchange_id: str,
    destination: str,
    body: bytes,
    content_type: str,
    due: dt.datetime,
    held: bool = False,
) -> Write:
    """Return the outbox row that queues a rendered message, its body sealed (bodies.py).

    A `held` message waits for the DPO's approval (AWAITING_APPROVAL) before it is due.
    """
    row = {
        "exchange_id": exchange_id,
        "destination": destination,
        **sealed_columns(sealer, exchange_id, body),
        "content_type": content_type,
        "status": AWAITING_APPROVAL if held else PENDING,
        "attempts": 0,
        "next_attempt_at": due,
    }
    return QUEUE, [row]


def release_held(session: Session, exchange_id: str, due: dt.datetime) -> bool:
    """Make a held message due for the relay; say whether it was still held."""
    released = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.exchange_id == exchange_id, OutboxMessage.status == AWAITING_APPROVAL)
        .values(status=PENDING, next_attempt_at=due, lease_until=None, lease_token=None)
        .execution_options(synchronize_session=False)
    )
    return bool(released.rowcount == 1)  # type: ignore[attr-defined]


def close_held(session: Session, exchange_id: str) -> bool:
    """Close a held message for good, its sealed body erased; say whether it was still held."""
    closed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.exchange_id == exchange_id, OutboxMessage.status == AWAITING_APPROVAL)
        .values(status=REJECTED, body=None, lease_until=None, lease_token=None)
        .execution_options(synchronize_session=False)
    )
    return bool(closed.rowcount == 1)  # type: ignore[attr-defined]


def delivery_of(session: Session, exchange_id: str) -> Delivery | None:
    """Return where an exchange's delivery stands, or None if nothing was queued."""
    return deliveries_of(session, [exchange_id]).get(exchange_id)


def deliveries_of(session: Session, exchange_ids: Sequence[str]) -> dict[str, Delivery]:
    """Return where each of these exchanges' deliveries stands (none: nothing was queued).

    Read IN_LIST at a time: an export asks for thousands, more than a statement should bind.
    """
    found: dict[str, Delivery] = {}
    for start in range(0, len(exchange_ids), IN_LIST):
        found |= _deliveries(session, exchange_ids[start : start + IN_LIST])
    return found


def _deliveries(session: Session, exchange_ids: Sequence[str]) -> dict[str, Delivery]:
    if not exchange_ids:
        return {}
    queued = session.scalars(
        select(OutboxMessage).where(OutboxMessage.exchange_id.in_(exchange_ids))
    ).all()
    attempts, receipts = {}, {}
    for exchange_id, count, receipt in session.execute(
        select(DeliveryAttempt.exchange_id, func.count(), func.max(DeliveryAttempt.receipt))
        .where(DeliveryAttempt.exchange_id.in_(exchange_ids))
        .group_by(DeliveryAttempt.exchange_id)
    ):
        attempts[exchange_id], receipts[exchange_id] = count, receipt
    return {
        outbox.exchange_id: Delivery(
            status=outbox.status,
            attempts=attempts.get(outbox.exchange_id, 0),
            last_error=outbox.last_error,
            delivered_at=outbox.delivered_at,
            next_attempt_at=outbox.next_attempt_at if outbox.status == PENDING else None,
            receipt=receipts.get(outbox.exchange_id) if outbox.status == DELIVERED else None,
        )
        for outbox in queued
    }


def counts(session: Session) -> dict[str, int]:
    """Return how many outbox messages are pending, delivered and dead."""
    found = dict(
        session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return {status: found.get(status, 0) for status in (PENDING, DELIVERED, DEAD)}

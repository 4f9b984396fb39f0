"""The outbox as a scrape sees it: messages waiting per destination, and the oldest one's age.

Read from the database at each scrape, not kept by a process: every process would count only
what it queued, and they would disagree. One grouped query over the messages not delivered
(pending, held for the DPO, dead; the status index finds them), never the delivered history,
and on PostgreSQL cut off at QUERY_TIMEOUT_MS, so a scrape cannot load a busy database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gateway.delivery.repository import AWAITING_APPROVAL, DEAD, PENDING
from gateway.store.models import ExchangeRecord, OutboxMessage, System

WAITING = (PENDING, AWAITING_APPROVAL, DEAD)
"""The statuses counted: to be sent, held for the DPO's approval, given up."""
AGED = (PENDING, AWAITING_APPROVAL)
"""The statuses whose oldest message's age is given: those still to be sent."""
QUERY_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Waiting:
    """Messages of one status for one destination, and when the oldest was accepted."""

    destination: str
    status: str
    messages: int
    oldest_accepted: dt.datetime


@dataclass(frozen=True)
class Outbox:
    destinations: list[str]  # every system with an endpoint: a queue of none is a 0
    waiting: list[Waiting]


def outbox(session: Session) -> Outbox:
    """Read the outbox's waiting messages, grouped by destination and status."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {QUERY_TIMEOUT_MS}"))
    destinations = session.scalars(
        select(System.id).where(System.endpoint.is_not(None)).order_by(System.id)
    ).all()
    rows = session.execute(
        select(
            OutboxMessage.destination,
            OutboxMessage.status,
            func.count(),
            func.min(ExchangeRecord.recorded_at),
        )
        .join(ExchangeRecord, ExchangeRecord.id == OutboxMessage.exchange_id)
        .where(OutboxMessage.status.in_(WAITING))
        .group_by(OutboxMessage.destination, OutboxMessage.status)
        .order_by(OutboxMessage.destination, OutboxMessage.status)
    ).all()
    return Outbox(list(destinations), [Waiting(*row) for row in rows])

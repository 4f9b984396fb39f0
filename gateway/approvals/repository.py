"""Approvals in the store: asked for with the exchange's record, decided once.

The decision is one conditional UPDATE (`decide`: only a row not yet decided), so of two
DPO clients deciding at once exactly one changes the row; the other finds it decided. On
PostgreSQL the second waits for the first's row lock and then sees its commit; on SQLite
writers take turns.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from gateway.store.group import Batch, Write
from gateway.store.models import Approval, ExchangeRecord

APPROVED, REJECTED = "approved", "rejected"
WHY_LIMIT = 500  # characters of the policy's reason kept (the column's size)

REQUEST = insert(Approval)


def requested(exchange_id: str, why: str, at: dt.datetime) -> Write:
    """Return the row that asks the DPO to approve an exchange, written with its record."""
    return REQUEST, [{"exchange_id": exchange_id, "why": why[:WHY_LIMIT], "requested_at": at}]


def held_in(batch: Batch, exchange_id: str) -> bool:
    """Tell whether an exchange was held for approval (in this batch, or stored before)."""
    if any(row["exchange_id"] == exchange_id for row in batch.deferred(REQUEST)):
        return True
    asked = select(Approval.seq).where(Approval.exchange_id == exchange_id)
    return batch.connection.execute(asked).first() is not None


def decide(
    session: Session,
    exchange_id: str,
    decision: str,
    by: str,
    reason: str | None,
    at: dt.datetime,
) -> bool:
    """Write the DPO's decision if none was written yet; say whether this call wrote it."""
    decided = session.execute(
        update(Approval)
        .where(Approval.exchange_id == exchange_id, Approval.decision.is_(None))
        .values(decision=decision, decided_by=by, reason=reason, decided_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(decided.rowcount == 1)  # type: ignore[attr-defined]


Held = tuple[Approval, ExchangeRecord]
"""An approval and the record of the exchange it holds."""


def one(session: Session, exchange_id: str) -> Held | None:
    """Return an exchange's approval with its record, or None if none was asked for."""
    found = session.execute(
        select(Approval, ExchangeRecord)
        .join(ExchangeRecord, ExchangeRecord.id == Approval.exchange_id)
        .where(Approval.exchange_id == exchange_id)
    ).one_or_none()
    return None if found is None else (found[0], found[1])


def listed(session: Session, state: str, limit: int, after: int | None) -> list[Held]:
    """Return up to `limit` approvals in a state ("all": any), with their records.

    Pending ones oldest first (the queue: the longest waiting first), decided ones newest
    first; `after` is the `seq` the page before ended on.
    """
    query = select(Approval, ExchangeRecord).join(
        ExchangeRecord, ExchangeRecord.id == Approval.exchange_id
    )
    if state == "pending":
        query = query.where(Approval.decision.is_(None)).order_by(Approval.seq)
        if after is not None:
            query = query.where(Approval.seq > after)
    else:
        if state != "all":
            query = query.where(Approval.decision == state)
        query = query.order_by(Approval.seq.desc())
        if after is not None:
            query = query.where(Approval.seq < after)
    return [(approval, record) for approval, record in session.execute(query.limit(limit))]

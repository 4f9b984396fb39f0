"""The DPO's approval queue: list what waits, approve or reject it, once.

An exchange the policy allows but asks the DPO to approve (`Decision.approval`) is recorded
and queued as any other, in the same transaction, its rendered body sealed in the outbox;
but its outbox row is held (`awaiting-approval`), which the relay never claims, and a row in
`approvals` says why. Approved, the row becomes due and the relay is woken; rejected, it is
closed and its body erased, so it can never be sent. Either is written once (a second
decision is a conflict), by the DPO only, and answered only once committed.

Why only the DPO, not the administrator: separation of duties. The administrator registers
systems and their endpoints; one who could also approve a held transfer could send a
person's sensitive data wherever they pointed it. The DPO answers for the transfers and
runs nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import cast

from sqlalchemy.orm import Session

from gateway.approvals import repository
from gateway.approvals.repository import APPROVED, REJECTED
from gateway.approvals.schemas import ApprovalOut, ApprovalPage, ApprovalQuery, State
from gateway.audit.service import ExchangeStatus, Reader
from gateway.delivery import repository as outbox
from gateway.delivery.repository import Delivery
from gateway.errors import ConflictError, ForbiddenError, NotFoundError
from gateway.ids import is_uuid
from gateway.store.db import Database
from gateway.store.models import Approval, ExchangeRecord


class Approvals:
    """The approval queue as the DPO works it."""

    def __init__(
        self, db: Database, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        self._db = db
        self._clock = clock
        self.on_approved: Callable[[], None] = lambda: None  # after the commit: wake the relay
        # After the commit of a rejection: its erased body leaves SQLite's log at the relay's
        # next compaction (OutboxRelay.compact), off the request path, as a delivered one does.
        self.on_rejected: Callable[[], None] = lambda: None

    def listing(self, reader: Reader, query: ApprovalQuery) -> ApprovalPage:
        """List approvals in one state (or all), a page at a time."""
        _only_the_dpo(reader)
        after = None if query.cursor is None else int(query.cursor)
        with self._db.reading() as session:
            rows = repository.listed(session, query.state, query.limit + 1, after)
            page = rows[: query.limit]
            deliveries = outbox.deliveries_of(session, [a.exchange_id for a, _ in page])
        found = [_out(a, r, deliveries.get(a.exchange_id)) for a, r in page]
        more = len(rows) > query.limit
        return ApprovalPage(approvals=found, next_cursor=str(page[-1][0].seq) if more else None)

    def get(self, reader: Reader, exchange_id: str) -> ApprovalOut:
        """Return an exchange's approval: why it waits, the decision, the exchange's record."""
        _only_the_dpo(reader)
        _check_id(exchange_id)
        with self._db.reading() as session:
            return _found(session, exchange_id)

    def approve(self, reader: Reader, exchange_id: str, reason: str | None = None) -> ApprovalOut:
        """Approve a held exchange: its message becomes due, and the relay is woken."""
        approved = self._decide(reader, exchange_id, APPROVED, reason)
        self.on_approved()
        return approved

    def reject(self, reader: Reader, exchange_id: str, reason: str) -> ApprovalOut:
        """Reject a held exchange: its message is closed for good and its body erased."""
        rejected = self._decide(reader, exchange_id, REJECTED, reason)
        self.on_rejected()
        return rejected

    def _decide(
        self, reader: Reader, exchange_id: str, decision: str, reason: str | None
    ) -> ApprovalOut:
        """Write the decision and release or close the message, in one transaction."""
        _only_the_dpo(reader)
        _check_id(exchange_id)
        now = self._clock()
        with self._db.unit_of_work() as session:
            by = reader.system_id or reader.role
            if not repository.decide(session, exchange_id, decision, by, reason, now):
                earlier = _found(session, exchange_id)  # NotFoundError if none was asked for
                raise ConflictError(f"exchange {exchange_id} was already {earlier.state}")
            if decision == APPROVED:
                changed = outbox.release_held(session, exchange_id, now)
            else:
                changed = outbox.close_held(session, exchange_id)
            if not changed:  # rolled back: the decision is not kept either
                raise ConflictError(f"the message of exchange {exchange_id} is no longer held")
            decided = _found(session, exchange_id)
        return decided


def _only_the_dpo(reader: Reader) -> None:
    if not reader.dpo:
        raise ForbiddenError("this needs the data protection officer's role")


def _check_id(exchange_id: str) -> None:
    """Refuse an id no exchange can have as absent, without repeating it (it may be anything)."""
    if not is_uuid(exchange_id):
        raise NotFoundError("no approval is asked for an exchange of this id")


def _found(session: Session, exchange_id: str) -> ApprovalOut:
    row = repository.one(session, exchange_id)
    if row is None:
        raise NotFoundError(f"no approval is asked for exchange {exchange_id}")
    approval, record = row
    return _out(approval, record, outbox.delivery_of(session, exchange_id))


def _out(approval: Approval, record: ExchangeRecord, delivery: Delivery | None) -> ApprovalOut:
    exchange = ExchangeStatus.model_validate(record).model_copy(update={"delivery": delivery})
    return ApprovalOut(
        exchange_id=approval.exchange_id,
        state=cast(State, approval.decision or "pending"),
        why=approval.why,
        requested_at=approval.requested_at,
        decided_at=approval.decided_at,
        decided_by=approval.decided_by,
        reason=approval.reason,
        exchange=exchange,
    )

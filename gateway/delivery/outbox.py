"""Drain the outbox: claim due messages, send them, and record every attempt.

A message is claimed with a lease (a conditional UPDATE, atomic on SQLite and PostgreSQL), so
several relays can drain one outbox without sending a message twice at once; if a relay dies
mid-send the lease runs out and another sends it again under the same idempotency key. A
message leaves the outbox only as delivered (its body then erased) or dead (kept, with its
body, for an operator): nothing accepted is lost across a restart.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from gateway.crypto import Sealer
from gateway.delivery.transport import Transport, TransportError
from gateway.store.db import Database
from gateway.store.models import DeliveryAttempt, OutboxMessage, System

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# 4xx answers that say "try later", not "never".
RETRYABLE_4XX = {408, 425, 429}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    base_seconds: float = 2.0
    max_seconds: float = 3600.0
    lease_seconds: float = 60.0

    def delay(self, attempts: int) -> dt.timedelta:
        """Exponential backoff with equal jitter, so retries from many messages spread out."""
        ceiling = min(self.base_seconds * 2 ** (attempts - 1), self.max_seconds)
        return dt.timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        sealer: Sealer,
        retry: RetryPolicy,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.db = db
        self.transport = transport
        self.sealer = sealer
        self.retry = retry
        self.clock = clock

    def drain(self, limit: int = 100) -> int:
        """Send every due message once; return how many were attempted."""
        claimed = self._claim(limit)
        for message_id in claimed:
            self._deliver(message_id)
        return len(claimed)

    def _claim(self, limit: int) -> list[int]:
        now = self.clock()
        claimed = []
        with self.db.unit_of_work() as session:
            due = session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
                .where(or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
                .order_by(OutboxMessage.next_attempt_at)
                .limit(limit)
            ).all()
        for message_id in due:
            with self.db.unit_of_work() as session:
                taken = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id, OutboxMessage.status == PENDING)
                    .where(
                        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
                    )
                    .values(lease_until=now + dt.timedelta(seconds=self.retry.lease_seconds))
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(message_id)
        return claimed

    def _deliver(self, message_id: int) -> None:
        with self.db.unit_of_work() as session:
            message = session.get_one(OutboxMessage, message_id)
            system = session.get_one(System, message.destination)
            url, body = system.endpoint, message.body
            headers = {
                "Content-Type": message.content_type,
                "Idempotency-Key": message.exchange_id,
                "X-Exchange-Id": message.exchange_id,
            }
            if system.outbound_token_sealed:
                headers["Authorization"] = "Bearer " + self.sealer.open(
                    system.outbound_token_sealed
                )
        status: int | None = None
        error: str | None = None
        try:
            if url is None or body is None:
                raise TransportError("no endpoint or body")
            status = self.transport.post(url, body, headers)
        except TransportError as exc:
            error = str(exc)
        with self.db.unit_of_work() as session:
            self._settle(session, session.get_one(OutboxMessage, message_id), status, error)

    def _settle(
        self, session: Session, message: OutboxMessage, status: int | None, error: str | None
    ) -> None:
        now = self.clock()
        message.attempts += 1
        message.lease_until = None
        session.add(
            DeliveryAttempt(
                exchange_id=message.exchange_id, attempted_at=now, status_code=status, error=error
            )
        )
        if status is not None and 200 <= status < 300:
            message.status, message.delivered_at, message.body = DELIVERED, now, None
            message.last_error = None
            return
        message.last_error = error or f"HTTP {status}"
        permanent = status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX
        if permanent or message.attempts >= self.retry.max_attempts:
            message.status = DEAD
        else:
            message.next_attempt_at = now + self.retry.delay(message.attempts)

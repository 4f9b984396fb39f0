"""Leases on outbox messages: claimed with a token, renewed while held, settled only if still held.

A relay claims due messages by writing a lease (an expiry and a random token) in one
conditional UPDATE, so several relays (processes, or gateways on one database) never claim
one message at once. While it holds them, a heartbeat extends its leases, so a destination of
any slowness cannot outlive a lease; a relay that dies stops renewing and its leases run out,
and another relay sends the message again under the same idempotency key. Every change a
relay makes to a message it claimed is fenced by its token: a relay that lost its lease can
never overwrite the outcome of the relay that took the message over.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from gateway.delivery.repository import PENDING
from gateway.errors import ConfigurationError, Problem
from gateway.store.db import Database
from gateway.store.models import OutboxMessage, System

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeasePolicy:
    """How long a claim holds without renewal, and how often a holder renews it."""

    lease_seconds: float = 30.0
    renew_seconds: float = 5.0

    @classmethod
    def for_timeout(
        cls, lease_seconds: float, renew_seconds: float | None, timeout_seconds: float
    ) -> LeasePolicy:
        """Build and check a policy; by default renew four times a lease and twice a timeout."""
        if renew_seconds is None:
            renew_seconds = min(lease_seconds / 4, timeout_seconds / 2)
        policy = cls(lease_seconds, renew_seconds)
        policy.check(timeout_seconds)
        return policy

    def check(self, timeout_seconds: float) -> None:
        """Refuse settings under which a held lease could run out.

        Why these rules: a renewal may be late by one interval (a slow database), so a lease
        must last over two; and a renewal must come round within one send's timeout.
        """
        problems = []
        if self.lease_seconds <= 2 * self.renew_seconds:
            problems.append(
                Problem(
                    "GATEWAY_DELIVERY_LEASE_SECONDS",
                    f"{self.lease_seconds:g} s must be over twice the renewal interval"
                    f" ({self.renew_seconds:g} s, GATEWAY_DELIVERY_LEASE_RENEW_SECONDS)",
                )
            )
        if self.renew_seconds >= timeout_seconds:
            problems.append(
                Problem(
                    "GATEWAY_DELIVERY_LEASE_RENEW_SECONDS",
                    f"{self.renew_seconds:g} s must be under the delivery timeout"
                    f" ({timeout_seconds:g} s, GATEWAY_DELIVERY_TIMEOUT_SECONDS)",
                )
            )
        if problems:
            raise ConfigurationError("the delivery lease settings are not coherent", problems)


@dataclass(frozen=True)
class Claimed:
    id: int
    destination: str


def is_free(now: dt.datetime) -> ColumnElement[bool]:
    """No live lease holds the message."""
    return or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)


def ready_destinations(
    session: Session, now: dt.datetime, limit: int, skip: Collection[str] = ()
) -> list[str]:
    """Return destinations with a message ready to send, the longest waiting first.

    Why "ready" is more than "due": a destination receives its messages in acceptance order.
    Its first message that may go now must come before its first one waiting for a later
    attempt, and none of its messages may be held under a live lease (being sent). One pass
    over the pending messages, grouped by destination.
    """
    due_and_free = and_(OutboxMessage.next_attempt_at <= now, is_free(now))
    first_ready = func.min(case((due_and_free, OutboxMessage.id)))
    first_waiting = func.min(case((OutboxMessage.next_attempt_at > now, OutboxMessage.id)))
    sending = func.max(case((OutboxMessage.lease_until >= now, 1), else_=0))
    query = (
        select(OutboxMessage.destination)
        .where(OutboxMessage.status == PENDING)
        .group_by(OutboxMessage.destination)
        .having(
            sending == 0,
            first_ready.is_not(None),
            or_(first_waiting.is_(None), first_ready < first_waiting),
        )
        .order_by(first_ready)
        .limit(limit)
    )
    if skip:
        query = query.where(OutboxMessage.destination.not_in(skip))
    return list(session.scalars(query))


def claim(
    db: Database,
    token: str,
    now: dt.datetime,
    lease_seconds: float,
    limit: int,
    skip: Collection[str] = (),
    only: str | None = None,
) -> list[Claimed]:
    """Lease up to `limit` ready messages of each ready destination under `token`.

    Leaves out the `skip` destinations; with `only`, claims that destination's alone. Counts
    an attempt for each message claimed.

    Why the destination's row is locked: claims of one destination must follow each other,
    or two relays could each see the other's messages unleased and one overtake the other.
    On PostgreSQL a claim locks the rows of the destinations it takes (FOR UPDATE SKIP
    LOCKED: a destination being claimed by another relay is passed over, not waited for);
    SQLite runs one writing transaction at a time. Why an attempt is counted at the claim:
    a message that kills its sender every time must still run out of attempts, and a broker
    that redelivers a lost task does not count (`release` gives back the unsent).
    """
    with db.unit_of_work() as session:
        wanted = [only] if only is not None else ready_destinations(session, now, limit, skip)
        if not wanted:
            return []
        held = session.scalars(
            select(System.id).where(System.id.in_(wanted)).with_for_update(skip_locked=True)
        ).all()
        ids = [i for destination in held for i in _ready_ids(session, destination, now, limit)]
        if not ids:
            return []
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == PENDING, is_free(now))
            .values(
                lease_until=now + dt.timedelta(seconds=lease_seconds),
                lease_token=token,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        taken = session.execute(
            select(OutboxMessage.id, OutboxMessage.destination)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.lease_token == token)
            .order_by(OutboxMessage.id)
        ).all()
    return [Claimed(row.id, row.destination) for row in taken]


def _ready_ids(session: Session, destination: str, now: dt.datetime, limit: int) -> list[int]:
    """The destination's first `limit` messages that may go now, in acceptance order: none if
    one of its messages is being sent, and none from its first one waiting for later on."""
    pending = and_(OutboxMessage.destination == destination, OutboxMessage.status == PENDING)
    sending = session.scalar(
        select(OutboxMessage.id).where(pending, OutboxMessage.lease_until >= now).limit(1)
    )
    if sending is not None:
        return []
    waiting = session.scalar(
        select(func.min(OutboxMessage.id)).where(pending, OutboxMessage.next_attempt_at > now)
    )
    query = select(OutboxMessage.id).where(pending).order_by(OutboxMessage.id).limit(limit)
    if waiting is not None:
        query = query.where(OutboxMessage.id < waiting)
    return list(session.scalars(query))


def renew(db: Database, held: dict[int, str], until: dt.datetime) -> None:
    """Extend the leases of `held` (message id -> token) that still hold their token."""
    with db.unit_of_work() as session:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(list(held)),
                OutboxMessage.lease_token.in_(set(held.values())),
                OutboxMessage.status == PENDING,
            )
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )


def release(
    db: Database, token: str, ids: Iterable[int], not_before: dt.datetime | None = None
) -> None:
    """Give back leased messages unsent, their attempt uncounted; hold them to `not_before`."""
    values: dict[str, object] = {
        "lease_until": None,
        "lease_token": None,
        "attempts": OutboxMessage.attempts - 1,
    }
    if not_before is not None:
        values["next_attempt_at"] = not_before
    with db.unit_of_work() as session:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(list(ids)),
                OutboxMessage.lease_token == token,
                OutboxMessage.status == PENDING,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


class Heartbeat:
    """A thread that renews the leases a relay holds, every renewal interval, until stopped."""

    def __init__(self, db: Database, policy: LeasePolicy, clock: Callable[[], dt.datetime]) -> None:
        self._db = db
        self._policy = policy
        self._clock = clock
        self._held: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, token: str, ids: Iterable[int]) -> None:
        with self._lock:
            self._held.update(dict.fromkeys(ids, token))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="outbox-lease-heartbeat", daemon=True
                )
                self._thread.start()

    def drop(self, ids: Iterable[int]) -> None:
        with self._lock:
            for message_id in ids:
                self._held.pop(message_id, None)

    def held(self) -> dict[int, str]:
        with self._lock:
            return dict(self._held)

    def beat(self) -> None:
        """Renew every lease held now."""
        held = self.held()
        if held:
            renew(self._db, held, self._clock() + dt.timedelta(seconds=self._policy.lease_seconds))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._policy.renew_seconds):
            try:
                self.beat()
            except Exception:  # a database hiccup: the next beat tries again within the lease
                log.exception("renewing outbox leases failed")

"""Drain the outbox: claim ready messages, send them, and record every attempt.

The same relay sends in a serving process (the embedded default) and in a Celery worker's
task (`drain_destination`). Messages are claimed under a lease (see lease.py), so several
relays drain one outbox without sending a message twice, never out of order for a
destination, and settled only while the lease is still held. A message leaves the
outbox only as delivered (its body then erased) or dead (kept, sealed, for an operator):
nothing accepted is lost across a restart.

Destinations are served at once, each by one thread in acceptance order, so one that is slow
or unreachable holds up no other. After a destination could not be reached (or asked us to
slow down), its other claimed messages are held back unsent until its next attempt: a dead
destination costs one timeout per pass, not one per message.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import func, insert, or_, select, update

from adapters.registry import AdapterRegistry, installed_adapters
from gateway import metrics
from gateway.config import Settings
from gateway.crypto import AesGcmSealer, BodySealer, Sealer, derive_key
from gateway.delivery import lease, receipts
from gateway.delivery.bodies import body_keyring, open_body
from gateway.delivery.lease import Claimed, Heartbeat, LeasePolicy
from gateway.delivery.repository import DEAD, DELIVERED, PENDING
from gateway.delivery.retry import SLOW_DOWN, RetryPolicy, Verdict, retry_after_seconds
from gateway.delivery.transport import HttpTransport, Response, Transport
from gateway.errors import SealError, TransportError
from gateway.store.db import Database
from gateway.store.models import (
    DeadLetterAction,
    DeliveryAttempt,
    ExchangeRecord,
    OutboxMessage,
    System,
)

# The purpose the key sealing destinations' credentials is derived for, from the master secret.
OUTBOUND_CREDENTIALS_KEY = "seal-outbound-credentials"
SETTLE_EVERY = 50  # outcomes settled in one transaction, at most

__all__ = ["DEAD", "DELIVERED", "PENDING", "OutboxRelay", "Pass", "RetryPolicy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pass:
    """What one dispatch claimed, and the sends to each destination, running."""

    claimed: int
    sends: list[Future[None]]


@dataclass(frozen=True)
class _Loaded:
    id: int
    exchange_id: str
    destination: str
    body: bytes | None
    key_id: str | None
    content_type: str
    attempts: int
    endpoint: str | None
    outbound_token_sealed: str | None
    adapter: str  # the destination's, which may read its answers (receipts.py)
    message_type: str | None


@dataclass(frozen=True)
class _Outcome:
    """One attempt, judged and not yet settled: the row it adds and the changes it makes."""

    message: _Loaded
    verdict: Verdict
    attempt: Mapping[str, object]  # the delivery_attempts row
    values: Mapping[str, object]  # the outbox row's changes, unless delivered
    seconds: float
    hold_until: dt.datetime | None


class _Unsendable(Exception):
    """A message that cannot be sent as it stands (its text is the attempt's error)."""


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        sealer: Sealer,
        retry: RetryPolicy,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        *,
        bodies: BodySealer,
        leases: LeasePolicy | None = None,
        threads: int = 8,
        adapters: AdapterRegistry | None = None,
    ) -> None:
        self.db = db
        self.adapters = adapters
        self.transport = transport
        self.sealer = sealer
        self.bodies = bodies
        self.retry = retry
        self.leases = leases or LeasePolicy()
        self.clock = clock
        self._threads = threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="outbox-send")
        self._heartbeat = Heartbeat(db, self.leases, clock)
        self._busy: set[str] = set()  # destinations being sent to
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._erased = threading.Event()  # a body was erased since the last compaction

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        db: Database,
        master: bytes,
        transport: Transport | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        adapters: AdapterRegistry | None = None,
    ) -> OutboxRelay:
        """Build the relay a serving process or a worker sends the outbox's messages with.

        `adapters` read the destinations' answers (receipts.py); the installed ones by default.
        """
        return cls(
            db,
            transport or HttpTransport(settings.delivery_timeout_seconds),
            AesGcmSealer(derive_key(master, OUTBOUND_CREDENTIALS_KEY)),
            RetryPolicy(
                max_attempts=settings.delivery_max_attempts,
                base_seconds=settings.delivery_backoff_base_seconds,
                max_seconds=settings.delivery_backoff_max_seconds,
            ),
            clock,
            bodies=body_keyring(master, settings.body_key_generation),
            leases=cls.lease_policy(settings),
            threads=settings.delivery_threads,
            adapters=adapters or installed_adapters(),
        )

    @staticmethod
    def lease_policy(settings: Settings) -> LeasePolicy:
        """Build the lease policy; raise ConfigurationError if the settings clash."""
        return LeasePolicy.for_timeout(
            settings.delivery_lease_seconds,
            settings.delivery_lease_renew_seconds,
            settings.delivery_timeout_seconds,
        )

    def drain(self, limit: int = 100) -> int:
        """Claim due messages, send them and wait for every send; return how many were claimed."""
        claimed = self.dispatch(limit)
        for send in claimed.sends:
            send.result()
        self.compact()
        return claimed.claimed

    def dispatch(self, limit: int = 100) -> Pass:
        """Claim due messages of destinations not being sent to, and start sending; no wait.

        Called from one thread at a time (the background relay's, or a caller of `drain`).
        """
        with self._lock:
            if len(self._busy) >= self._threads or self._closing.is_set():
                return Pass(0, [])
            busy = set(self._busy)
        token = secrets.token_hex(16)
        claimed = lease.claim(
            self.db, token, self.clock(), self.leases.lease_seconds, limit, skip=busy
        )
        if not claimed:
            return Pass(0, [])
        self._heartbeat.hold(token, (m.id for m in claimed))
        by_destination: dict[str, list[Claimed]] = {}
        for message in claimed:  # in id order: acceptance order within a destination
            by_destination.setdefault(message.destination, []).append(message)
        with self._lock:
            self._busy.update(by_destination)
        sends = [
            self._pool.submit(self._send_all, token, destination, [m.id for m in messages])
            for destination, messages in by_destination.items()
        ]
        return Pass(len(claimed), sends)

    def drain_destination(self, destination: str, limit: int = 100) -> int:
        """Claim one destination's ready messages and send them in order, in this thread.

        What a worker's task does; returns how many were claimed (0: none was ready).
        """
        token = secrets.token_hex(16)
        claimed = lease.claim(
            self.db, token, self.clock(), self.leases.lease_seconds, limit, only=destination
        )
        if not claimed:
            return 0
        ids = [m.id for m in claimed]
        self._heartbeat.hold(token, ids)
        with self._lock:
            self._busy.add(destination)
        self._send_all(token, destination, ids)
        self.compact()
        return len(ids)

    def note_erased(self) -> None:
        """Say that a body was erased elsewhere (a rejected approval): the next compaction
        truncates SQLite's log, as after a delivery."""
        self._erased.set()

    def compact(self) -> None:
        """If a body was erased since the last call, truncate SQLite's log (Database.truncate_log).

        If a reader kept the log from being cut, the next call tries again.
        """
        if not self._erased.is_set():
            return
        self._erased.clear()
        done = False
        try:
            done = self.db.truncate_log()
        finally:
            if not done:
                self._erased.set()

    def close(self) -> None:
        """Stop sending: finish the sends in flight, give back every message not yet sent."""
        self._closing.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._heartbeat.stop()
        by_token: dict[str, list[int]] = {}
        for message_id, token in self._heartbeat.held().items():
            by_token.setdefault(token, []).append(message_id)
        try:
            for token, ids in by_token.items():
                lease.release(self.db, token, ids)
                self._heartbeat.drop(ids)
        except Exception:  # the database is gone too: the leases run out by themselves
            log.warning("could not give back outbox leases on closing; they will run out")

    def _send_all(self, token: str, destination: str, ids: list[int]) -> None:
        """Send one destination's claimed messages in order; hold back the rest after a fault.

        Why outcomes are settled in batches: one transaction per message made the database,
        not the network, the limit. An outcome not yet settled when the relay dies is not
        lost: the message's lease runs out, it is sent again under the same idempotency key,
        and the destination answers that it already has it (409, delivered).
        """
        unsent = list(ids)
        outcomes: list[_Outcome] = []
        try:
            loaded = self._load(token, unsent)
            while unsent and not self._closing.is_set():
                message = loaded.get(unsent.pop(0))
                if message is None:  # the lease was lost: another relay has it now
                    continue
                outcome = self._attempt(message)
                outcomes.append(outcome)
                if outcome.hold_until is not None and unsent:
                    self._settle(token, outcomes)
                    outcomes = []
                    lease.release(self.db, token, unsent, not_before=outcome.hold_until)
                    unsent = []
                elif len(outcomes) >= SETTLE_EVERY:
                    self._settle(token, outcomes)
                    outcomes = []
            self._settle(token, outcomes)
            if unsent:  # closing: give them back at once
                lease.release(self.db, token, unsent)
        except Exception:  # the rest's leases run out; another pass sends them
            log.exception("sending to a destination failed")
        finally:
            self._heartbeat.drop(ids)
            with self._lock:
                self._busy.discard(destination)

    def _attempt(self, message: _Loaded) -> _Outcome:
        """Send one message (unless it cannot or must not be) and judge the answer."""
        if message.attempts > self.retry.max_attempts and self._lost(message) >= (
            self.retry.max_attempts
        ):  # a poison message: its senders died with it, attempt after attempt
            return self._dead(message, "sender_lost_during_attempts")
        try:
            url, body, headers = self._request(message)
        except _Unsendable as exc:  # a permanent failure, not a crash: the operator sees why
            log.warning("outbox message %d cannot be sent: %s", message.id, exc)
            return self._dead(message, str(exc))
        response: Response | None = None
        error: str | None = None
        try:
            response = self.transport.post(url, body, headers)
        except TransportError as exc:
            error = exc.message
        return self._judge(message, response, error)

    def _request(self, loaded: _Loaded) -> tuple[str, bytes, dict[str, str]]:
        """Return where to send a message, its opened body and its headers."""
        if loaded.endpoint is None or loaded.body is None:
            raise _Unsendable("no endpoint or body")
        try:
            body = open_body(self.bodies, loaded.exchange_id, loaded.key_id, loaded.body)
        except SealError as exc:
            raise _Unsendable(exc.reason) from exc
        headers = {
            "Content-Type": loaded.content_type,
            "Idempotency-Key": loaded.exchange_id,
            "X-Exchange-Id": loaded.exchange_id,
        }
        if loaded.outbound_token_sealed:
            try:
                token = self.sealer.open(loaded.outbound_token_sealed)
            except SealError as exc:  # sealed under another master secret, or altered
                raise _Unsendable("outbound_credential_unreadable") from exc
            headers["Authorization"] = "Bearer " + token
        return loaded.endpoint, body, headers

    def _load(self, token: str, ids: list[int]) -> dict[int, _Loaded]:
        """Read the claimed messages this relay still holds, with their destination's address."""
        with self.db.reading() as session:
            rows = session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.exchange_id,
                    OutboxMessage.destination,
                    OutboxMessage.body,
                    OutboxMessage.key_id,
                    OutboxMessage.content_type,
                    OutboxMessage.attempts,
                    System.endpoint,
                    System.outbound_token_sealed,
                    System.adapter,
                    ExchangeRecord.message_type,
                )
                .join(System, System.id == OutboxMessage.destination)
                .join(ExchangeRecord, ExchangeRecord.id == OutboxMessage.exchange_id)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.lease_token == token,
                    OutboxMessage.status == PENDING,
                )
            ).all()
        return {row.id: _Loaded(*row) for row in rows}

    def _lost(self, loaded: _Loaded) -> int:
        """Count the attempts before this one that recorded no outcome: their sender died.

        Attempts recorded before the message was last replayed (its count then began again)
        are not counted.
        """
        replayed = (
            select(func.max(DeadLetterAction.at))
            .where(
                DeadLetterAction.exchange_id == loaded.exchange_id,
                DeadLetterAction.action == "replay",
            )
            .scalar_subquery()
        )
        with self.db.reading() as session:
            recorded = session.scalar(
                select(func.count())
                .select_from(DeliveryAttempt)
                .where(
                    DeliveryAttempt.exchange_id == loaded.exchange_id,
                    or_(replayed.is_(None), DeliveryAttempt.attempted_at > replayed),
                )
            )
        return loaded.attempts - 1 - (recorded or 0)

    def _judge(self, message: _Loaded, response: Response | None, error: str | None) -> _Outcome:
        """Decide what an answer (or its absence) makes of the message.

        Its `hold_until` says when the destination may be tried again if the message is to be
        tried again, or it could not be reached or asked us to slow down: its other messages
        are held back until then, so none overtakes this one.
        """
        now = self.clock()
        status = None if response is None else response.status
        verdict = self.retry.verdict(status, message.attempts)  # counted when claimed
        receipt = None
        if response is not None and (
            read := receipts.judge(
                self.adapters,
                message.adapter,
                message.message_type or "",
                response,
                message.attempts,
                self.retry,
            )
        ):
            verdict, receipt, error = read.verdict, read.receipt, read.error or error
        retry_after = None
        if response is not None and response.status in SLOW_DOWN:
            retry_after = retry_after_seconds(response.headers, now)
        retry_at = now + self.retry.delay(message.attempts, retry_after)
        values: dict[str, object] = {"lease_until": None, "lease_token": None}
        if verdict is not Verdict.DELIVERED:
            values["last_error"] = (error or f"HTTP {status}")[:500]
            if verdict is Verdict.DEAD:
                values["status"] = DEAD
            else:
                values["next_attempt_at"] = retry_at
        slow_down = response is None or response.status in SLOW_DOWN
        return _Outcome(
            message=message,
            verdict=verdict,
            attempt={
                "exchange_id": message.exchange_id,
                "attempted_at": now,
                "status_code": status,
                "error": error,
                "receipt": receipt,
            },
            values=values,
            seconds=0.0 if response is None else response.elapsed_seconds,
            hold_until=retry_at if slow_down or verdict is Verdict.RETRY else None,
        )

    def _dead(self, message: _Loaded, error: str) -> _Outcome:
        """Give a message up unsent: an attempt that could not be made, and why."""
        return _Outcome(
            message=message,
            verdict=Verdict.DEAD,
            attempt={
                "exchange_id": message.exchange_id,
                "attempted_at": self.clock(),
                "status_code": None,
                "error": error,
                "receipt": None,
            },
            values={"status": DEAD, "lease_until": None, "lease_token": None, "last_error": error},
            seconds=0.0,
            hold_until=None,
        )

    def _settle(self, token: str, outcomes: list[_Outcome]) -> None:
        """Record the attempts and change the messages, in one transaction, for each message
        this relay still holds (one another relay took over keeps that relay's outcome).

        The delivered are changed by one statement (their bodies erased, the time of this
        settlement their delivery time); the rest, rarer, one by one.
        """
        if not outcomes:
            return
        held = (OutboxMessage.lease_token == token, OutboxMessage.status == PENDING)
        delivered = {o.message.id for o in outcomes if o.verdict is Verdict.DELIVERED}
        with self.db.unit_of_work() as session:
            session.execute(insert(DeliveryAttempt), [o.attempt for o in outcomes])
            settled = set()
            if delivered:
                settled |= set(
                    session.scalars(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(delivered), *held)
                        .values(
                            status=DELIVERED,
                            delivered_at=self.clock(),
                            body=None,
                            last_error=None,
                            lease_until=None,
                            lease_token=None,
                        )
                        .returning(OutboxMessage.id)
                        .execution_options(synchronize_session=False)
                    )
                )
            for outcome in outcomes:
                if outcome.message.id in delivered:
                    continue
                settled |= set(
                    session.scalars(
                        update(OutboxMessage)
                        .where(OutboxMessage.id == outcome.message.id, *held)
                        .values(**outcome.values)
                        .returning(OutboxMessage.id)
                        .execution_options(synchronize_session=False)
                    )
                )
        for outcome in outcomes:
            if outcome.message.id not in settled:
                log.warning(
                    "outbox message %d was taken over by another relay; outcome left",
                    outcome.message.id,
                )
                continue
            if outcome.verdict is Verdict.DELIVERED:
                self._erased.set()
            metrics.delivery_settled(
                outcome.message.destination,
                outcome.verdict.value,
                outcome.message.attempts,
                outcome.seconds,
            )

"""Drain the outbox: claim due messages, send them, and record every attempt.

Messages are claimed under a lease (see lease.py), so several relays drain one outbox without
sending a message twice, and settled only while the lease is still held. A message leaves the
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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select, update

from gateway.crypto import BodySealer, Sealer
from gateway.delivery import lease
from gateway.delivery.bodies import open_body
from gateway.delivery.lease import Claimed, Heartbeat, LeasePolicy
from gateway.delivery.repository import DEAD, DELIVERED, PENDING
from gateway.delivery.retry import SLOW_DOWN, RetryPolicy, Verdict, retry_after_seconds
from gateway.delivery.transport import Response, Transport
from gateway.errors import SealError, TransportError
from gateway.store.db import Database
from gateway.store.models import DeliveryAttempt, OutboxMessage, System

__all__ = ["DEAD", "DELIVERED", "PENDING", "OutboxRelay", "Pass", "RetryPolicy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pass:
    """What one dispatch claimed, and the sends to each destination, running."""

    claimed: int
    sends: list[Future[None]]


@dataclass(frozen=True)
class _Loaded:
    exchange_id: str
    body: bytes | None
    key_id: str | None
    content_type: str
    attempts: int
    endpoint: str | None
    outbound_token_sealed: str | None


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
    ) -> None:
        self.db = db
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
        """Send one destination's claimed messages in order; hold back the rest after a fault."""
        unsent = list(ids)
        try:
            while unsent and not self._closing.is_set():
                hold_until = self._deliver(token, unsent.pop(0))
                if hold_until is not None and unsent:
                    lease.release(self.db, token, unsent, not_before=hold_until)
                    unsent = []
            if unsent:  # closing: give them back at once
                lease.release(self.db, token, unsent)
        except Exception:  # the rest's leases run out; another pass sends them
            log.exception("sending to a destination failed")
        finally:
            self._heartbeat.drop(ids)
            with self._lock:
                self._busy.discard(destination)

    def _deliver(self, token: str, message_id: int) -> dt.datetime | None:
        """Send one message and settle it.

        Returns when its destination may be tried again if it could not be reached or asked
        us to slow down (the caller holds back its other messages until then), else None.
        """
        loaded = self._load(token, message_id)
        if loaded is None:  # the lease was lost: another relay has the message now
            return None
        try:
            url, body, headers = self._request(loaded)
        except _Unsendable as exc:  # a failed attempt, not a crash: the operator sees why
            log.warning("outbox message %d cannot be sent: %s", message_id, exc)
            self._record_outcome(token, message_id, loaded, None, str(exc))
            return None
        response: Response | None = None
        error: str | None = None
        try:
            response = self.transport.post(url, body, headers)
        except TransportError as exc:
            error = exc.message
        retry_at = self._record_outcome(token, message_id, loaded, response, error)
        if response is None or response.status in SLOW_DOWN:
            return retry_at
        return None

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

    def _load(self, token: str, message_id: int) -> _Loaded | None:
        with self.db.reading() as session:
            row = session.execute(
                select(
                    OutboxMessage.exchange_id,
                    OutboxMessage.body,
                    OutboxMessage.key_id,
                    OutboxMessage.content_type,
                    OutboxMessage.attempts,
                    System.endpoint,
                    System.outbound_token_sealed,
                )
                .join(System, System.id == OutboxMessage.destination)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.lease_token == token,
                    OutboxMessage.status == PENDING,
                )
            ).one_or_none()
        return None if row is None else _Loaded(*row)

    def _record_outcome(
        self,
        token: str,
        message_id: int,
        loaded: _Loaded,
        response: Response | None,
        error: str | None,
    ) -> dt.datetime:
        """Record the attempt and the message's outcome, if this relay still holds its lease.

        Returns when the message is next due (had it not been delivered).
        """
        now = self.clock()
        status = None if response is None else response.status
        attempts = loaded.attempts + 1
        verdict = self.retry.verdict(status, attempts)
        retry_after = None
        if response is not None and response.status in SLOW_DOWN:
            retry_after = retry_after_seconds(response.headers, now)
        retry_at = now + self.retry.delay(attempts, retry_after)
        values: dict[str, object] = {"attempts": attempts, "lease_until": None, "lease_token": None}
        if verdict is Verdict.DELIVERED:
            values.update(status=DELIVERED, delivered_at=now, body=None, last_error=None)
        else:
            values["last_error"] = (error or f"HTTP {status}")[:500]
            if verdict is Verdict.DEAD:
                values["status"] = DEAD
            else:
                values["next_attempt_at"] = retry_at
        with self.db.unit_of_work() as session:
            session.add(
                DeliveryAttempt(
                    exchange_id=loaded.exchange_id,
                    attempted_at=now,
                    status_code=status,
                    error=error,
                )
            )
            settled = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.lease_token == token,
                    OutboxMessage.status == PENDING,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if settled.rowcount != 1:  # type: ignore[attr-defined]
            log.warning(
                "outbox message %d was taken over by another relay; outcome left", message_id
            )
        elif verdict is Verdict.DELIVERED:
            self._erased.set()
        return retry_at

"""A withdrawal's consequences, committed with it: what has not left is cancelled, and every
recipient that received data under the consent is told, through its own adapter.

Each exchange that relied on the consent (gateway/consents.py, `relied_upon`) is in one of
two states when the consent is withdrawn:

- it may have reached its recipient: delivered, tried at least once (a timed-out attempt may
  have arrived), or claimed by a relay that has not settled it (being sent, or its relay died
  sending it). The recipient is sent one notice listing every such exchange.
- it has not left, or may still be sent again: its body is still kept (pending, held for the
  DPO, or dead and waiting for an operator). Its message is cancelled, body erased, so it
  never goes. Why, though the exchange was lawful when decided: the person has said stop,
  and a message still in our hands is ours to stop.

A notice is an exchange of its own: a `consent-withdrawal` message rendered by the
recipient's adapter, recorded (`legal-obligation`: a controller tells recipients of a
withdrawal) and queued in the outbox like any other, and delivered by the relay, which knows
nothing of consents. A recipient whose adapter cannot render one gets a record saying so
(decision `invalid`), and the consent's view shows it; the withdrawal still stands.

On PostgreSQL the outbox rows of the exchanges read here are locked (FOR UPDATE) until the
withdrawal commits, so a relay cannot claim one between the reading and the cancelling.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from adapters.registry import AdapterRegistry
from gateway.audit import record as audit_record
from gateway.audit import repository as audit_log
from gateway.audit.record import ALLOWED, INVALID
from gateway.canonical import CONSENT_WITHDRAWAL, ConsentWithdrawal, LegalBasis
from gateway.crypto import BodySealer, sha256_hex
from gateway.delivery import repository as outbox
from gateway.delivery.repository import DELIVERED
from gateway.errors import EnvelopeError, GatewayError, Problem
from gateway.ids import new_id
from gateway.store.group import Write
from gateway.store.models import (
    ConsentNotice,
    ConsentRow,
    ExchangeConsent,
    ExchangeRecord,
    OutboxMessage,
    System,
)

log = logging.getLogger(__name__)

CANCELLED = "cancelled"
"""An outbox message that will never be sent: the consent it relied on was withdrawn."""
NOT_RENDERED = "not-rendered"
"""A notice's state when the recipient's adapter could not write it (nothing was queued)."""
NOTICE_REASON = "consent.withdrawn"
NOTICE_BASIS = LegalBasis.LEGAL_OBLIGATION
_NOTE = insert(ConsentNotice)


@dataclass(frozen=True)
class Notice:
    """The notice of a withdrawal to one recipient, and where its delivery stands."""

    exchange_id: str  # the notice's own exchange record
    recipient: str
    covers: list[str]  # the exchanges the recipient received (or may have) under the consent
    status: str  # the outbox's (pending, delivered, dead), or NOT_RENDERED
    attempts: int
    delivered_at: dt.datetime | None
    last_error: str | None
    problem: str | None  # why it could not be rendered


@dataclass(frozen=True)
class _Relied:
    """An exchange that relied on the consent, and where its message stands."""

    exchange_id: str
    destination: str
    may_have_arrived: bool
    kept: bool  # its body is still kept: it has not left, or may be sent again


class Notices:
    """Propagate withdrawals: cancel what has not left, tell each recipient reached."""

    def __init__(self, adapters: AdapterRegistry, sealer: BodySealer) -> None:
        self._adapters = adapters
        self._sealer = sealer  # seals outbox bodies at rest, as the exchange path does

    def propagate(self, session: Session, consent: ConsentRow, now: dt.datetime) -> int:
        """Cancel and notify for a consent withdrawn at `now`; return how many notices queued."""
        relied = _relied_on(session, consent.id)
        _cancel(session, [r.exchange_id for r in relied if r.kept])
        reached: dict[str, list[str]] = {}
        for exchange in relied:
            if exchange.may_have_arrived:
                reached.setdefault(exchange.destination, []).append(exchange.exchange_id)
        return sum(
            self._notify(session, consent, recipient, covers, now)
            for recipient, covers in sorted(reached.items())
        )

    def _notify(
        self,
        session: Session,
        consent: ConsentRow,
        recipient: str,
        covers: list[str],
        now: dt.datetime,
    ) -> bool:
        """Render, record and queue one recipient's notice; record why if it cannot be."""
        system = session.get(System, recipient)
        assert system is not None  # a foreign key of the exchange's outbox row
        notice = ConsentWithdrawal(consent_id=consent.id, exchange_ids=covers, withdrawn_at=now)
        record = replace(
            audit_record.build(
                exchange_id=new_id(),
                recorded_at=now,
                source=None,  # the gateway itself
                request_digest=None,
                decision=ALLOWED,
                reasons=[NOTICE_REASON],
                destination_jurisdiction=system.jurisdiction,
                subjects=[consent.subject],
            ),
            destination=recipient,
            message_type=CONSENT_WITHDRAWAL,
            purpose=consent.purpose,
            legal_basis=NOTICE_BASIS.value,
        )
        note = {"exchange_id": record.id, "consent_id": consent.id, "recipient": recipient}
        try:
            adapter = self._adapters.get(system.adapter)
            if CONSENT_WITHDRAWAL not in adapter.renders:
                raise EnvelopeError(
                    f"{system.adapter} does not render {CONSENT_WITHDRAWAL}",
                    [Problem("message_type", f"{recipient} cannot receive it")],
                )
            rendered = adapter.render(CONSENT_WITHDRAWAL, notice)
            version = self._adapters.mapping_version(system.adapter, CONSENT_WITHDRAWAL)
        except Exception as error:  # the withdrawal stands whatever a recipient's adapter does
            reason, problem = _why_not(error, system.adapter)
            failed = replace(record, decision=INVALID, reasons=(reason,))
            problem_note = {**note, "covers": covers, "problem": problem[:500]}
            _write(session, [*audit_log.writes(failed), (_NOTE, [problem_note])])
            return False
        queued = outbox.queued(
            self._sealer,
            exchange_id=record.id,
            destination=recipient,
            body=rendered.body,
            content_type=rendered.content_type,
            due=now,
        )
        sent = replace(record, mapping_version=version, payload_digest=sha256_hex(rendered.body))
        notice_note = {**note, "covers": covers, "problem": None}
        _write(session, [*audit_log.writes(sent), queued, (_NOTE, [notice_note])])
        return True


def notices_of(session: Session, consent_ids: Sequence[str]) -> dict[str, list[Notice]]:
    """Return each consent's notices with their delivery (none: not withdrawn, or nobody
    had received anything under it)."""
    if not consent_ids:
        return {}
    rows = session.scalars(
        select(ConsentNotice)
        .where(ConsentNotice.consent_id.in_(consent_ids))
        .order_by(ConsentNotice.recipient)
    ).all()
    deliveries = outbox.deliveries_of(session, [n.exchange_id for n in rows])
    found: dict[str, list[Notice]] = {}
    for row in rows:
        delivery = deliveries.get(row.exchange_id)
        found.setdefault(row.consent_id, []).append(
            Notice(
                exchange_id=row.exchange_id,
                recipient=row.recipient,
                covers=list(row.covers),
                status=NOT_RENDERED if delivery is None else delivery.status,
                attempts=0 if delivery is None else delivery.attempts,
                delivered_at=None if delivery is None else delivery.delivered_at,
                last_error=None if delivery is None else delivery.last_error,
                problem=row.problem,
            )
        )
    return found


def exchanges_of(session: Session, consent_ids: Sequence[str]) -> dict[str, tuple[int, list[str]]]:
    """Return, per consent, how many exchanges relied on it and which of their messages were
    cancelled by a withdrawal (of it, or of another consent the exchange relied on)."""
    if not consent_ids:
        return {}
    link = ExchangeConsent
    counts = dict(
        session.execute(
            select(link.consent_id, func.count())
            .where(link.consent_id.in_(consent_ids))
            .group_by(link.consent_id)
        ).all()
    )
    cancelled: dict[str, list[str]] = {}
    for consent_id, exchange_id in session.execute(
        select(link.consent_id, link.exchange_id)
        .join(OutboxMessage, OutboxMessage.exchange_id == link.exchange_id)
        .where(link.consent_id.in_(consent_ids), OutboxMessage.status == CANCELLED)
        .order_by(OutboxMessage.id)
    ):
        cancelled.setdefault(consent_id, []).append(exchange_id)
    return {c: (counts.get(c, 0), cancelled.get(c, [])) for c in consent_ids}


def _relied_on(session: Session, consent_id: str) -> list[_Relied]:
    """Read the exchanges that relied on a consent, their outbox rows locked (PostgreSQL)."""
    message = OutboxMessage
    rows = session.execute(
        select(
            ExchangeConsent.exchange_id,
            message.destination,
            message.status,
            message.attempts,
            message.lease_until.is_not(None),
            message.body.is_not(None),
        )
        .join(message, message.exchange_id == ExchangeConsent.exchange_id)
        .join(ExchangeRecord, ExchangeRecord.id == ExchangeConsent.exchange_id)
        .where(ExchangeConsent.consent_id == consent_id)
        .order_by(ExchangeRecord.seq)
        .with_for_update(of=message)
    )
    return [
        _Relied(
            exchange_id=exchange_id,
            destination=destination,
            may_have_arrived=status == DELIVERED or attempts > 0 or bool(claimed),
            kept=status != DELIVERED and bool(kept),
        )
        for exchange_id, destination, status, attempts, claimed, kept in rows
    ]


def _cancel(session: Session, exchange_ids: Iterable[str]) -> None:
    """Cancel these messages for good: body erased, any lease dropped (a relay holding one
    finds the message gone and settles nothing)."""
    wanted = list(exchange_ids)
    if not wanted:
        return
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.exchange_id.in_(wanted),
            OutboxMessage.status != DELIVERED,
            OutboxMessage.body.is_not(None),
        )
        .values(status=CANCELLED, body=None, lease_until=None, lease_token=None)
        .execution_options(synchronize_session=False)
    )


def _why_not(error: Exception, adapter: str) -> tuple[str, str]:
    """Return the reason code and words of a notice that could not be rendered."""
    if isinstance(error, GatewayError):
        return error.reason, error.message
    # A bug in the adapter: logged for its maintainer (the notice holds ids only).
    log.error("adapter %s failed to render a consent withdrawal", adapter, exc_info=error)
    return "render_failed", f"{adapter} failed to render it ({type(error).__name__})"


def _write(session: Session, writes: Iterable[Write]) -> None:
    for statement, rows in writes:
        session.execute(statement, rows)

"""Dead letters in the store: outbox rows in state `dead`, and the record of what was done.

Each action is one conditional UPDATE (`... WHERE status = 'dead'`), so of two operators
acting on one dead letter at once exactly one changes the row; the other finds it changed.
On PostgreSQL the second waits for the first's row lock and then sees its commit; on SQLite
writers take turns. The body itself is never read here: only its size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.orm import Session

from gateway.delivery.repository import DEAD, IN_LIST, PENDING
from gateway.store.models import (
    DeadLetterAction,
    DeliveryAttempt,
    ExchangeRecord,
    OutboxMessage,
    System,
)

DISCARDED = "discarded"
"""A dead letter closed for good by an operator: never sent, its body erased, its row kept."""
REPLAY, DISCARD, PURGE = "replay", "discard", "purge"


@dataclass(frozen=True)
class Letter:
    """An outbox row as a dead letter is shown: its record's metadata, its body's size only."""

    id: int
    exchange_id: str
    destination: str
    status: str
    content_type: str
    key_id: str | None
    stored_bytes: int | None  # the sealed body's size; None: no body kept
    last_error: str | None
    source: str | None
    message_type: str | None
    recorded_at: dt.datetime


@dataclass(frozen=True)
class Tried:
    """How often a message was tried, and when first and last."""

    count: int
    first: dt.datetime | None
    last: dt.datetime | None


_LETTER = (
    OutboxMessage.id,
    OutboxMessage.exchange_id,
    OutboxMessage.destination,
    OutboxMessage.status,
    OutboxMessage.content_type,
    OutboxMessage.key_id,
    func.length(OutboxMessage.body),
    OutboxMessage.last_error,
    ExchangeRecord.source,
    ExchangeRecord.message_type,
    ExchangeRecord.recorded_at,
)


def _letters(
    session: Session, *where: ColumnElement[bool], limit: int | None = None
) -> list[Letter]:
    query = (
        select(*_LETTER)
        .join(ExchangeRecord, ExchangeRecord.id == OutboxMessage.exchange_id)
        .where(*where)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [Letter(*row) for row in session.execute(query)]


def listed(
    session: Session, destination: str | None, limit: int, after: int | None
) -> list[Letter]:
    """Return up to `limit` dead letters, oldest first; `after` is the id the page before
    ended on."""
    where = [OutboxMessage.status == DEAD]
    if destination is not None:
        where.append(OutboxMessage.destination == destination)
    if after is not None:
        where.append(OutboxMessage.id > after)
    return _letters(session, *where, limit=limit)


def one(session: Session, exchange_id: str) -> Letter | None:
    """Return an exchange's outbox row if it is, or was, a dead letter.

    Was: it is discarded, or an action was taken on it (replayed, and pending, delivered or
    dead again since); its record of actions stays readable.
    """
    found = _letters(session, OutboxMessage.exchange_id == exchange_id)
    if not found:
        return None
    letter = found[0]
    if letter.status in (DEAD, DISCARDED):
        return letter
    acted = select(DeadLetterAction.id).where(DeadLetterAction.exchange_id == exchange_id)
    return letter if session.execute(acted.limit(1)).first() is not None else None


def status_of(session: Session, exchange_id: str) -> tuple[str, bool] | None:
    """Return an outbox row's state and whether it keeps a body, or None if none was queued."""
    row = session.execute(
        select(OutboxMessage.status, OutboxMessage.body.is_not(None)).where(
            OutboxMessage.exchange_id == exchange_id
        )
    ).first()
    return None if row is None else (row[0], bool(row[1]))


def tried(session: Session, exchange_ids: Sequence[str]) -> dict[str, Tried]:
    """Return how often each of these exchanges' messages was tried, first and last when."""
    found: dict[str, Tried] = {}
    for start in range(0, len(exchange_ids), IN_LIST):
        chunk = exchange_ids[start : start + IN_LIST]
        if not chunk:
            continue
        rows = session.execute(
            select(
                DeliveryAttempt.exchange_id,
                func.count(),
                func.min(DeliveryAttempt.attempted_at),
                func.max(DeliveryAttempt.attempted_at),
            )
            .where(DeliveryAttempt.exchange_id.in_(chunk))
            .group_by(DeliveryAttempt.exchange_id)
        )
        found |= {exchange_id: Tried(n, first, last) for exchange_id, n, first, last in rows}
    return found


def attempts(session: Session, exchange_id: str, limit: int) -> list[DeliveryAttempt]:
    """Return an exchange's latest `limit` delivery attempts, oldest first."""
    latest = session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.exchange_id == exchange_id)
        .order_by(DeliveryAttempt.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(latest))


def actions(session: Session, exchange_id: str, limit: int) -> list[DeadLetterAction]:
    """Return the latest `limit` actions taken on an exchange's dead letter, oldest first."""
    latest = session.scalars(
        select(DeadLetterAction)
        .where(DeadLetterAction.exchange_id == exchange_id)
        .order_by(DeadLetterAction.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(latest))


def system_exists(session: Session, system_id: str) -> bool:
    return session.execute(select(System.id).where(System.id == system_id)).first() is not None


_REPLAYED = {
    "status": PENDING,
    "attempts": 0,
    "last_error": None,
    "lease_until": None,
    "lease_token": None,
}


def replay(session: Session, exchange_id: str, due: dt.datetime) -> bool:
    """Make a dead letter that keeps its body due again, tried afresh; say whether it was one."""
    replayed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.exchange_id == exchange_id,
            OutboxMessage.status == DEAD,
            OutboxMessage.body.is_not(None),
        )
        .values(**_REPLAYED, next_attempt_at=due)
        .execution_options(synchronize_session=False)
    )
    return bool(replayed.rowcount == 1)  # type: ignore[attr-defined]


def replay_destination(session: Session, destination: str, due: dt.datetime) -> list[str]:
    """Make every dead letter of a destination that keeps its body due again; return their
    exchange ids, oldest first (one statement: they become due together)."""
    replayed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.destination == destination,
            OutboxMessage.status == DEAD,
            OutboxMessage.body.is_not(None),
        )
        .values(**_REPLAYED, next_attempt_at=due)
        .returning(OutboxMessage.id, OutboxMessage.exchange_id)
        .execution_options(synchronize_session=False)
    )
    return [exchange_id for _, exchange_id in sorted(replayed.all())]


def without_body(session: Session, destination: str) -> int:
    """Return how many dead letters of a destination no longer keep a body (purged)."""
    counted = session.scalar(
        select(func.count()).where(
            OutboxMessage.destination == destination,
            OutboxMessage.status == DEAD,
            OutboxMessage.body.is_(None),
        )
    )
    return int(counted or 0)


def discard(session: Session, exchange_id: str) -> bool:
    """Close a dead letter for good, its body erased; say whether it was one."""
    discarded = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.exchange_id == exchange_id, OutboxMessage.status == DEAD)
        .values(status=DISCARDED, body=None, lease_until=None, lease_token=None)
        .execution_options(synchronize_session=False)
    )
    return bool(discarded.rowcount == 1)  # type: ignore[attr-defined]


def record(
    session: Session,
    exchange_ids: Iterable[str],
    action: str,
    actor: str,
    reason: str | None,
    at: dt.datetime,
) -> None:
    """Record one action on each of these exchanges' dead letters, in the caller's transaction."""
    rows = [
        {"exchange_id": e, "action": action, "actor": actor, "reason": reason, "at": at}
        for e in exchange_ids
    ]
    for start in range(0, len(rows), IN_LIST):
        session.execute(insert(DeadLetterAction), rows[start : start + IN_LIST])

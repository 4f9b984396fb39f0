"""Exchange records in the store: written once, read by the parties and the administrator.

An idempotency key is bound to the record of the exchange it first decided, in the same
transaction, so a replay finds the original outcome, and a key reused with another message
is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, String, bindparam, cast, insert, or_, select
from sqlalchemy.orm import Session

from gateway.audit.record import Record
from gateway.store.group import Batch, Write
from gateway.store.models import ExchangeRecord, IdempotencyKey, OutboxMessage


@dataclass(frozen=True)
class Bound:
    """What an idempotency key is bound to: the first message's digest and its outcome."""

    request_digest: str
    exchange_id: str
    decision: str
    reasons: list[str]
    categories: list[str]


# Built once: SQLAlchemy caches their compiled forms.
WRITE_RECORD = insert(ExchangeRecord)
BIND_KEY = insert(IdempotencyKey)
_BOUND = (
    select(
        IdempotencyKey.source,
        IdempotencyKey.key,
        IdempotencyKey.request_digest,
        ExchangeRecord.id,
        ExchangeRecord.decision,
        ExchangeRecord.reasons,
        ExchangeRecord.categories,
    )
    .join(ExchangeRecord, ExchangeRecord.id == IdempotencyKey.exchange_id)
    .where(IdempotencyKey.key.in_(bindparam("keys", expanding=True)))
)


def writes(record: Record, key: tuple[str, str] | None = None) -> list[Write]:
    """Return the rows that store a record and, for a decided exchange, bind its source's key.

    A key is bound to the exchange it first decided, so a second binding fails.
    """
    found: list[Write] = [(WRITE_RECORD, [{**record.fields(), "leaf_hash": record.leaf_hash()}])]
    if key is not None:
        source, idempotency_key = key
        bound_key = {
            "source": source,
            "key": idempotency_key,
            "request_digest": record.request_digest,
            "exchange_id": record.id,
        }
        found.append((BIND_KEY, [bound_key]))
    return found


def bound_in(batch: Batch, source: str, key: str) -> Bound | None:
    """Return what a key was bound to earlier in this batch (not yet written), or None."""
    for row in batch.deferred(BIND_KEY):
        if row["source"] == source and row["key"] == key:
            first = next(r for r in batch.deferred(WRITE_RECORD) if r["id"] == row["exchange_id"])
            return Bound(
                row["request_digest"],
                first["id"],
                first["decision"],
                first["reasons"],
                first["categories"],
            )
    return None


def bound_keys(
    connection: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Bound]:
    """Return what each of these (source, key) pairs is bound to in the store, if anything."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = connection.execute(_BOUND, {"keys": sorted({key for _, key in wanted})})
    return {
        (source, key): Bound(digest, exchange_id, decision, reasons, categories)
        for source, key, digest, exchange_id, decision, reasons, categories in rows
        if (source, key) in wanted
    }


def newest_first(
    session: Session,
    *,
    limit: int,
    before_seq: int | None = None,
    source: str | None = None,
    destination: str | None = None,
    destination_jurisdiction: str | None = None,
    message_type: str | None = None,
    purpose: str | None = None,
    decision: str | None = None,
    delivery: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    subjects: Collection[str] | None = None,
) -> Sequence[ExchangeRecord]:
    """Return up to `limit` stored records matching every filter given, newest first.

    Newest is the highest `seq`. On PostgreSQL, where several processes write, a record may
    commit after one with a higher `seq`: a listing is a view of now, not a feed (a reader
    who must miss nothing waits for the tamper-evident log, which has a watermark).

    `subjects` keeps the records about any of these pseudonyms (none if it is empty): the
    data protection officer's view of one person (gateway/audit/views.py). It looks for the
    pseudonym, quoted, in the JSON text of `subjects`, which SQLite and PostgreSQL both
    answer alike; quoted, `"ps_…"` matches a whole element only. It reads every record the
    other filters leave, so a period narrows it; an index of subjects would make it a lookup.
    """
    query = select(ExchangeRecord).order_by(ExchangeRecord.seq.desc()).limit(limit)
    for column, wanted in (
        (ExchangeRecord.source, source),
        (ExchangeRecord.destination, destination),
        (ExchangeRecord.destination_jurisdiction, destination_jurisdiction),
        (ExchangeRecord.message_type, message_type),
        (ExchangeRecord.purpose, purpose),
        (ExchangeRecord.decision, decision),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if before_seq is not None:
        query = query.where(ExchangeRecord.seq < before_seq)
    if since is not None:
        query = query.where(ExchangeRecord.recorded_at >= since)
    if until is not None:
        query = query.where(ExchangeRecord.recorded_at < until)
    if delivery is not None:
        query = query.join(OutboxMessage, OutboxMessage.exchange_id == ExchangeRecord.id).where(
            OutboxMessage.status == delivery
        )
    if subjects is not None:
        as_text = cast(ExchangeRecord.subjects, String)
        query = query.where(
            or_(False, *(as_text.contains(f'"{p}"', autoescape=True) for p in subjects))
        )
    return session.scalars(query).all()


def stored(session: Session, exchange_id: str) -> ExchangeRecord | None:
    """Return the stored record of an exchange, or None."""
    return session.scalar(select(ExchangeRecord).where(ExchangeRecord.id == exchange_id))

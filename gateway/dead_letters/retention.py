"""Dead letters' bodies are kept for a retention period, then erased; their rows stay.

Why: a dead letter keeps a person's data (sealed) only so that an operator can act on it.
Once the retention period (GATEWAY_DEAD_LETTER_RETENTION_DAYS) has passed since its last
attempt, nobody is coming: the body is erased, and the row, its attempts, its exchange's
record and a `purge` action stay, so the operator still sees what happened. A purged dead
letter can no longer be replayed (409 `body_purged`), only discarded.

Run periodically, off the request path: `gateway dead-letters purge` does it once. Rows are
erased in batches, each by a conditional UPDATE that checks again that the row is dead, keeps
its body and is past the period, so a dead letter replayed meanwhile is left alone.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import ColumnElement, and_, func, select, update

from gateway.config import Settings
from gateway.dead_letters import repository
from gateway.dead_letters.repository import PURGE
from gateway.delivery.repository import DEAD
from gateway.store.db import Database
from gateway.store.models import DeliveryAttempt, OutboxMessage

log = logging.getLogger(__name__)

ACTOR = "retention"
"""Who the record says purged a body: the retention period, not a person."""
PURGE_BATCH = 500


def _expired(cutoff: dt.datetime) -> ColumnElement[bool]:
    """Dead, keeping a body, last tried before `cutoff` (a row never tried: last due before)."""
    last_attempt = (
        select(func.max(DeliveryAttempt.attempted_at))
        .where(DeliveryAttempt.exchange_id == OutboxMessage.exchange_id)
        .scalar_subquery()
    )
    return and_(
        OutboxMessage.status == DEAD,
        OutboxMessage.body.is_not(None),
        func.coalesce(last_attempt, OutboxMessage.next_attempt_at) < cutoff,
    )


def purge_dead_bodies(
    db: Database, now: dt.datetime, retention: dt.timedelta, batch: int = PURGE_BATCH
) -> int:
    """Erase the bodies of dead letters last tried more than `retention` before `now`;
    record each purge; return how many were erased.

    The caller compacts SQLite's log afterwards (Database.truncate_log, or the relay's
    note_erased), so the erased bodies leave the log too.
    """
    if retention <= dt.timedelta(0):
        raise ValueError("the retention period must be positive")
    cutoff = now - retention
    reason = f"kept {retention.days} days after its last attempt (the retention period)"
    purged, after = 0, 0
    while True:
        with db.unit_of_work() as session:
            ids = list(
                session.scalars(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.id > after, _expired(cutoff))
                    .order_by(OutboxMessage.id)
                    .limit(batch)
                )
            )
            if ids:
                erased = (
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(ids), _expired(cutoff))
                        .values(body=None)
                        .returning(OutboxMessage.exchange_id)
                        .execution_options(synchronize_session=False)
                    )
                    .scalars()
                    .all()
                )
                repository.record(session, erased, PURGE, ACTOR, reason, now)
                purged += len(erased)
        if len(ids) < batch:
            break
        after = ids[-1]
    if purged:
        log.info("erased the bodies of %d dead letters past the retention period", purged)
    return purged


def purge_expired(db: Database, settings: Settings, now: dt.datetime) -> int:
    """Purge under the configured retention period (GATEWAY_DEAD_LETTER_RETENTION_DAYS)."""
    return purge_dead_bodies(db, now, dt.timedelta(days=settings.dead_letter_retention_days))

"""Outbox bodies sealed at rest: what the pipeline writes and the relay opens.

Why sealed: a body is a person's data. Erasing a delivered body (NULL) does not remove the
copies a database keeps elsewhere (SQLite's log, PostgreSQL's dead rows, backups); sealed,
those copies are ciphertext. The exchange id is bound as associated data, so a body moved
into another row does not open; the key id on the row names the key that opens it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from gateway.crypto import BodySealer
from gateway.store.db import Database
from gateway.store.models import OutboxMessage

log = logging.getLogger(__name__)


def sealed_columns(sealer: BodySealer, exchange_id: str, body: bytes) -> dict[str, Any]:
    """Return the outbox row's `body` and `key_id` columns for a body to be queued."""
    key_id, sealed = sealer.seal(body, exchange_id.encode())
    return {"body": sealed, "key_id": key_id}


def open_body(sealer: BodySealer, exchange_id: str, key_id: str | None, body: bytes) -> bytes:
    """Open a row's body; raise SealError if it cannot be (unknown key id, altered, moved).

    A row without a key id was queued before bodies were sealed and not sealed since
    (`seal_plaintext_rows` seals them all at start-up); its body is sent as it is.
    """
    if key_id is None:
        return body
    return sealer.open(key_id, body, exchange_id.encode())


def seal_plaintext_rows(db: Database, sealer: BodySealer) -> int:
    """Seal every body queued before sealing existed; return how many were sealed.

    Why at start-up and not in the migration: the sealing key derives from the master
    secret, which migrations do not see. Each row is sealed by a conditional UPDATE, so
    processes starting together seal each row once.
    """
    unsealed = (OutboxMessage.key_id.is_(None), OutboxMessage.body.is_not(None))
    with db.unit_of_work() as session:
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.exchange_id, OutboxMessage.body).where(*unsealed)
        ).all()
        for row in rows:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, *unsealed)
                .values(**sealed_columns(sealer, row.exchange_id, row.body))
                .execution_options(synchronize_session=False)
            )
    if rows:
        log.info("sealed %d outbox bodies queued before bodies were sealed", len(rows))
    return len(rows)
